"""``btfdedup`` command line: argparse front end that dispatches to one module per verb.

Each verb module exposes ``register(subparsers)`` which adds its parser and sets
``func`` (returning an exit code).  The front end turns every :class:`BtfError`
into one ``btfdedup: error: ...`` line on stderr and exit status 1; usage errors
exit 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from btfdedup import __version__
from btfdedup.errors import BtfError, BtfUsageError

VERBS = ("dump", "stats", "dedup", "split", "validate", "kernel")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="btfdedup",
        description="Deduplicate, merge, validate and inspect BTF (BPF Type Format).",
    )
    parser.add_argument("--version", action="version", version=f"btfdedup {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    sub.required = True
    for verb in VERBS:
        name = f"btfdedup.cli.{verb}"
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except BtfUsageError as e:
        print(f"btfdedup: error: {e}", file=sys.stderr)
        return 2 if getattr(e, "usage", False) else 1
    except BtfError as e:
        print(f"btfdedup: error: {e}", file=sys.stderr)
        return 1
    except MemoryError:
        print("btfdedup: error: out of memory", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("btfdedup: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into head(1) and friends: not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
