"""The ``sculpt`` command: a thin argparse front over the library.

Each sub-command lives in its own module under :mod:`sculpt.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking the parsed
arguments and returning an exit code). User mistakes raise :class:`sculpt.errors.SculptError` or
:class:`functiongraphs.GraphError`; they are printed in one line and the exit code is 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Order here is the order `sculpt --help` lists them.
COMMAND_MODULES = [
    "graph", "catalog", "run", "detect", "ncut", "render", "grid", "report", "reproduce", "data",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sculpt",
        description="Find the hierarchically modular structure of a task inside a neural network.",
    )
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except _user_errors() as exc:
        print(f"sculpt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sculpt {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `sculpt catalog list | head`: the reader went away; that is not an error of ours.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
