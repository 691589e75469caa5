"""The ``sculpt`` command: a thin argparse front over the library.

Each sub-command lives in its own module under :mod:`sculpt.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking the parsed
arguments and returning an exit code). User mistakes raise :class:`sculpt.errors.SculptError` or
:class:`functiongraphs.GraphError`; they are printed in one line and the exit code is 2. So is an
output that cannot be written (any ``OSError``). Ctrl-C (SIGINT) and SIGTERM both unwind through
the same clean-up (temporary directories removed, grid workers stopped) and exit 130 / 143.

Messages: step messages go to the ``sculpt`` logger, shown on stderr at INFO; ``-v`` adds DEBUG,
``-q`` shows warnings and errors only and turns progress bars off.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from contextlib import contextmanager

# Order here is the order `sculpt --help` lists them.
COMMAND_MODULES = [
    "graph", "catalog", "run", "detect", "ncut", "render", "grid", "report", "reproduce", "data",
]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is, so every ``except BaseException`` clean-up runs.

    A subclass of KeyboardInterrupt: code that already cleans up after Ctrl-C (partial run
    directories, grid workers) does the same for a ``kill``.
    """


def version_text() -> str:
    """``sculpt X.Y.Z (torch A, numpy B, Python C)``."""
    from sculpt.provenance import versions

    v = versions()
    return f"sculpt {v['sculpt']} (torch {v['torch']}, numpy {v['numpy']}, Python {v['python']})"


class _VersionAction(argparse.Action):
    """``--version`` that imports torch only when asked for (``sculpt --help`` stays fast)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sculpt",
        description="Find the hierarchically modular structure of a task inside a neural network.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the versions of sculpt, torch, numpy")
    # dest names of their own: a sub-command's -q/--quiet default must not overwrite these
    parser.add_argument("-v", "--verbose", dest="log_verbose", action="count", default=0,
                        help="more messages (debug details)")
    parser.add_argument("-q", "--quiet", dest="log_quiet", action="store_true",
                        help="warnings and errors only; no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"sculpt.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"sculpt.commands.{name}":
                continue  # command not available in this build
            raise
        module.register(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from functiongraphs.errors import GraphError
    from sculpt.errors import SculptError

    return (SculptError, GraphError)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest's capture swaps it per test)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def configure_logging(verbose: int, quiet: bool) -> None:
    """Show the ``sculpt`` logger on stderr: INFO by default, DEBUG with -v, WARNING with -q."""
    logger = logging.getLogger("sculpt")
    for handler in list(logger.handlers):
        if isinstance(handler, _StderrHandler):
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)


def _quiet_progress(args: argparse.Namespace) -> None:
    """``sculpt -q``: the sub-commands' own switches for progress output, all off."""
    if hasattr(args, "no_progress"):  # sculpt run
        args.no_progress = True
    if hasattr(args, "quiet"):  # sculpt grid
        args.quiet = True
    args.progress = False  # the others read this


_sigterm_received = False


@contextmanager
def sigterm_as_interrupt():
    """Turn SIGTERM into :class:`Terminated` while the command runs (main thread only).

    The flag :data:`_sigterm_received` remembers it too: some libraries re-raise an exception from
    a signal handler as a plain KeyboardInterrupt (Ray's ``ray.wait`` does).
    """
    global _sigterm_received
    _sigterm_received = False

    def handler(signum, frame):
        global _sigterm_received
        _sigterm_received = True
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. main() called from a worker thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from sculpt.provenance import set_command_line

    set_command_line(["sculpt", *(sys.argv[1:] if argv is None else argv)])
    configure_logging(args.log_verbose, args.log_quiet)
    args.progress = True
    if args.log_quiet:
        _quiet_progress(args)
    try:
        with sigterm_as_interrupt():
            return int(args.func(args) or 0)
    except _user_errors() as exc:
        print(f"sculpt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated) or _sigterm_received:
            print(f"sculpt {args.command}: terminated", file=sys.stderr)
            return 143
        print(f"sculpt {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `sculpt catalog list | head`: the reader went away; that is not an error of ours.
        sys.stderr.close()
        return 0
    except OSError as exc:
        # an output or input the system refused (permissions, full disk, a directory in the way)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"sculpt {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception:
        # After SIGTERM a library's own clean-up (Ray cancelling its tasks, say) may raise an error
        # of its own that replaces our Terminated; the command was still terminated, not broken.
        if _sigterm_received:
            print(f"sculpt {args.command}: terminated", file=sys.stderr)
            return 143
        raise
    finally:
        set_command_line(None)  # a later library call in this process records its own argv


if __name__ == "__main__":
    raise SystemExit(main())
