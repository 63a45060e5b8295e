"""``btfdedup validate FILE... [--base BASE] [--kernel-version X.Y] [--json]``.

Checks each FILE with the kernel's BTF verifier rules (see :mod:`btfdedup.verifier`)
without loading anything into the kernel.  Raw BTF is checked byte for byte
(header and section layout included); for an ELF object its ``.BTF`` section is
checked as the raw blob it carries.  Prints the problems (the first
``--max-problems``, default 100, then a count per rule of the rest: a raw
vmlinux over the kernel's limits breaks rules ~1.8 million times), then
``FILE: OK`` or ``FILE: N problem(s)``; with ``--json`` one compact JSON object
per file holding every problem unless ``--max-problems`` is given.  Exit status
1 when any file has a problem.

Files are read by :func:`btfdedup.io.load.load`, like every other verb: a FILE
that cannot be read (missing, not BTF, an ELF without ``.BTF``, corrupt
compression) is one ``btfdedup: error:`` line on stderr, the other files are
still checked, and the exit status is 1.  A loaded file is checked as the bytes
the kernel would get, including bytes outside every section that the reader
dropped ("Unsupported section found").  When the reader refuses the BTF itself,
its raw bytes are checked instead, so the report is the kernel's reason, not the
reader's.  A directory stands for every file under it that carries BTF.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from btfdedup.errors import BtfError, BtfFormatError, BtfUsageError, CommandLineError, ElfError
from btfdedup.model.btf import Btf
from btfdedup.verifier import Problem, ProblemList, parse_version, rules_for, validate
from btfdedup.verifier.problem import rule_of


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``validate`` verb."""
    p = sub.add_parser(
        "validate",
        help="check BTF against the kernel's verifier rules (what BPF_BTF_LOAD would reject)",
        description="Report every rule of the kernel's BTF verifier (kernel/bpf/btf.c) that FILE breaks, "
        "in the kernel's own words, without loading it.",
    )
    p.add_argument("files", metavar="FILE", nargs="+", help="raw BTF, ELF object (.o, .ko) or /sys/kernel/btf/*")
    p.add_argument("--base", "-B", metavar="BASE", help="base BTF: check FILE as split (module) BTF on it")
    p.add_argument(
        "--kernel-version",
        metavar="X.Y",
        help="rules of this kernel release (default: the running kernel's, 6.18 elsewhere)",
    )
    p.add_argument("--json", "-j", action="store_true", help="one JSON object per file")
    p.add_argument(
        "--max-problems",
        type=_count,
        default=None,
        metavar="N",
        help="show the first N problems per file and count the rest per rule (default 100; with --json: all; 0: all)",
    )
    p.set_defaults(func=run)


def _count(text: str) -> int:
    """argparse type: a non-negative integer."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0, got {text!r}")
    return n


def _summary(problems: ProblemList) -> str:
    return ", ".join(f"{n} {rule}" for rule, n in problems.rule_counts())


def check_file(path: str, base: Btf | None, version: tuple[int, int] | None) -> ProblemList:
    """Every problem the kernel would report for the BTF of ``path``; raises the
    :class:`BtfError` of :func:`load` when ``path`` holds no readable BTF."""
    from btfdedup.io.load import STDIN_PATH, load, raw_btf_of, read_file

    # Standard input can be read once only: its bytes serve both attempts.
    src: str | bytes = read_file(path) if path == STDIN_PATH else path
    try:
        btf = load(src, base=base)
    except BtfFormatError as e:
        if isinstance(e, ElfError):
            raise
        raw = raw_btf_of(src if isinstance(src, bytes) else read_file(path), path, base)
        if raw is None:
            raise
        return validate(raw[0], base=raw[1], kernel_version=version)
    return validate(btf, kernel_version=version)


def run(args: argparse.Namespace) -> int:
    """Validate every FILE; 1 when any has a problem or cannot be read."""
    from btfdedup.cli.main import input_files
    from btfdedup.io.load import load

    try:
        version = parse_version(args.kernel_version) if args.kernel_version else None
        rules_for(version)  # an unsupported release is a usage error, not a problem of every FILE
    except BtfUsageError as e:
        raise CommandLineError(f"--kernel-version: {e}") from None
    base = load(args.base) if args.base else None
    bad = False
    limit = args.max_problems if args.max_problems is not None else (0 if args.json else 100)
    for arg in args.files:
        try:
            paths = input_files(arg)
        except BtfError as e:
            sys.stdout.flush()
            print(f"btfdedup: error: {e}", file=sys.stderr)
            bad = True
            continue
        for path in paths:
            try:
                problems = check_file(path, base, version)
            except BtfError as e:
                sys.stdout.flush()
                print(f"btfdedup: error: {e}", file=sys.stderr)
                bad = True
                continue
            bad |= bool(problems)
            _report(path, problems, limit, as_json=args.json)
    sys.stdout.flush()
    return 1 if bad else 0


def _report(path: str, problems: ProblemList, limit: int, *, as_json: bool) -> None:
    """Print the problems of one file (text lines or one JSON object)."""
    shown = problems[:limit] if limit else problems
    if as_json:
        _report_json(path, problems, shown)
        return
    for p in shown:
        print(f"{path}: {p}")
    if len(shown) < len(problems):
        print(f"{path}: {len(problems) - len(shown)} more not shown (--max-problems 0 shows all)")
        print(f"{path}: by rule: {_summary(problems)}")
    print(f"{path}: OK" if not problems else f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")


def _report_json(path: str, problems: ProblemList, shown: Sequence[Problem]) -> None:
    """One compact JSON object, the text ``json.dumps`` gives for
    ``{"file", "ok", "problems", ["problem_count", "rule_counts"]}``, written a slice of
    problems at a time so that millions of them are never all objects at once."""
    sep = (",", ":")
    out = sys.stdout
    out.write(f'{{"file":{json.dumps(path)},"ok":{json.dumps(not problems)},"problems":[')
    step = 10_000
    for start in range(0, len(shown), step):
        chunk = ",".join(json.dumps(p.to_json(), separators=sep) for p in shown[start : start + step])
        out.write(("," if start else "") + chunk)
    out.write("]")
    if len(shown) < len(problems):
        counts = json.dumps(dict(problems.rule_counts()), separators=sep)
        out.write(f',"problem_count":{len(problems)},"rule_counts":{counts}')
    out.write("}\n")


__all__ = ["check_file", "register", "rule_of", "run"]
