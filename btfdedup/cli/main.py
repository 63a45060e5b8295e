"""``btfdedup`` command line: argparse front end that dispatches to one module per verb.

Each verb module exposes ``register(subparsers)`` which adds its parser and sets
``func`` (returning an exit code).  Only the module of the verb the command line
names is imported (the verbs' work needs numpy and the compiled core, whose
import is most of a short run), so ``--help``, ``--version`` and ``kernel list``
start in the time of the interpreter itself.  The front end turns every
:class:`BtfError` into one ``btfdedup: error: ...`` line on stderr.

Exit status, the same for every verb:

* 0: done (``validate``: every file is valid);
* 1: the command line was well formed but the work failed: an input that does
  not exist (``FILE: no such file or directory``, one wording everywhere), cannot
  be read or is not valid BTF, an output that cannot be written or would replace
  an input, a file ``validate`` finds invalid, a ``bpf(2)`` call refused;
* 2: usage error, the command line is wrong in itself, whatever the files hold:
  argparse's own errors (unknown option, missing or malformed argument; printed
  with the usage of the verb they belong to) and :class:`CommandLineError`
  (conflicting options, an option that needs another, an option value out of
  range), printed as one ``btfdedup: error:`` line;
* 130: interrupted.

``diff`` and ``equiv`` answer a yes/no question with their status, as cmp(1) and
diff(1) do: 0 the inputs are the same (equivalent), 1 they differ; anything that
goes wrong (an unreadable input, a wrong command line, an undecided answer) is
then 2, never 1.  Their parsers set ``error_status=2``, which :func:`_main` uses
for every :class:`BtfError` in place of 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from btfdedup import __version__
from btfdedup.errors import BtfError, BtfUsageError

#: The verbs, in the order ``--help`` lists them, with their one-line help.  Each
#: verb's module ``btfdedup.cli.<verb>`` is imported only when the command line
#: names it: ``--help``, ``--version`` and a mistyped verb import none of them
#: (nor numpy).  The lines are the ``help=`` each module's ``register`` gives.
VERB_HELP: dict[str, str] = {
    "dump": "print BTF types like 'bpftool btf dump file FILE' (raw text or JSON)",
    "stats": "per-kind counts and sizes, string section size, duplicates, .BTF.ext records",
    "dedup": "merge inputs into one BTF and deduplicate it (byte-identical to libbpf btf__dedup)",
    "split": "dedup each module against a base BTF, writing split BTF per module",
    "distill": "distill a module's base (libbpf btf__distill_base): <name>.base.btf + <name>.btf, or a .ko",
    "relocate": "relocate a module's split BTF from its distilled base onto a vmlinux (libbpf btf__relocate)",
    "sort": "order types by name as the kernel's resolve_btfids does (libbpf btf__permute bytes)",
    "validate": "check BTF against the kernel's verifier rules (what BPF_BTF_LOAD would reject)",
    "kernel": "list, read and load BTF objects in the running kernel (bpf(2))",
    "dups": "list types that occur more than once and where the copies diverge",
    "diff": "types only in A, only in B and changed, matched by kind and name (exit 1 when they differ)",
    "equiv": "decide whether A and B are the same BTF up to renumbering (exit 1 when not)",
    "strategies": "list the dedup strategies of 'dedup/split --strategy' and what each guarantees",
    "bench": "measure the dedup strategies on one input set: sizes, time, memory, scaling, vs libbpf",
}
VERBS = tuple(VERB_HELP)

#: Exit status of ``diff`` and ``equiv`` when the inputs differ, and of anything going
#: wrong in them (see the module docstring).
EXIT_DIFFER = 1
EXIT_TROUBLE = 2


def chosen_verb(argv: Sequence[str]) -> str | None:
    """The verb the command line names: its first positional argument (the top-level
    options, ``-h`` and ``--version``, take no value), or None when it names none
    or one that is not a verb."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            token = next(tokens, "")
        elif token.startswith("-") and token != "-":
            continue
        return token if token in VERB_HELP else None
    return None


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser.  ``verb`` (None: no verb) gets its full parser from its
    module's ``register``; every other verb is only a name and a help line, which is
    all ``--help`` and argparse's "invalid choice" message show of it."""
    parser = argparse.ArgumentParser(
        prog="btfdedup",
        description="Deduplicate, merge, validate and inspect BTF (BPF Type Format).",
    )
    parser.add_argument("--version", action="version", version=f"btfdedup {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    sub.required = True
    for name, help_line in VERB_HELP.items():
        if name == verb:
            import_module(f"btfdedup.cli.{name}").register(sub)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def input_files(path: str) -> list[str]:
    """The files one FILE argument of ``dump``/``stats``/``validate`` stands for:
    ``-`` (standard input) and a file as they are; a directory as every file under
    it that carries BTF, in sorted path order, the others noted on stderr (the
    expansion ``dedup`` uses, :func:`btfdedup.workflows.inputs.expand`).  A path
    that does not exist, or a directory with no BTF in it, is a :class:`BtfUsageError`."""
    from btfdedup.io.load import STDIN_PATH
    from btfdedup.workflows.inputs import expand

    if path == STDIN_PATH:
        return [path]
    found = expand([path])
    for f, why in found.skipped:
        print(f"btfdedup: note: skipped {f}: {why}", file=sys.stderr)
    if not found.files:
        found.require_some(f"file under {path}")
    return found.files


def parse_command_line(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, except that arguments no parser recognised are
    reported by the innermost (sub)command parser that was selected, with its
    usage line (``btfdedup dump: error: unrecognized arguments: --bogus``), not by
    the top-level parser with the top-level usage.  An unknown option written
    before the verb stays the top-level parser's.  Exits 2 like argparse."""
    args, extras = parser.parse_known_args(argv)
    if not extras:
        return args
    owner = parser
    tokens = list(sys.argv[1:] if argv is None else argv)
    verb = getattr(args, "verb", None)
    before_verb = tokens[: tokens.index(verb)] if verb in tokens else tokens
    if not any(t in before_verb for t in extras):
        while True:
            subs = [a for a in owner._actions if isinstance(a, argparse._SubParsersAction)]
            chosen = getattr(args, subs[0].dest, None) if subs and subs[0].dest else None
            if chosen is None or chosen not in subs[0].choices:
                break
            owner = subs[0].choices[chosen]
    owner.error(f"unrecognized arguments: {' '.join(extras)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C or SIGTERM anywhere gives one ``btfdedup: interrupted``
    line, exit 130 (143) and no partial output (:mod:`btfdedup.cli.interrupt`).

    Before any verb can import numpy, OpenBLAS is held to one thread (unless the
    environment says otherwise): nothing here uses BLAS, and starting its thread
    pool is a third of numpy's import on a many-core machine."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from btfdedup.cli import interrupt

    return interrupt.run(_main, argv)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(chosen_verb(sys.argv[1:] if argv is None else argv))
    args = parse_command_line(parser, argv)
    try:
        rc = args.func(args)
    except BtfUsageError as e:
        print(f"btfdedup: error: {e}", file=sys.stderr)
        return 2 if getattr(e, "usage", False) else getattr(args, "error_status", 1)
    except BtfError as e:
        print(f"btfdedup: error: {e}", file=sys.stderr)
        return getattr(args, "error_status", 1)
    except MemoryError:
        print("btfdedup: error: out of memory", file=sys.stderr)
        return getattr(args, "error_status", 1)
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
