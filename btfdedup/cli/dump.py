"""``btfdedup dump``: print a BTF file the way ``bpftool btf dump file`` does.

``--format raw`` (default) is bpftool 7.1.0's raw text byte for byte;
``--format json`` (or ``--json``) is ``bpftool -j``'s one-line document and
``--pretty`` its ``-p`` layout (implies JSON).  ``--base`` makes FILE split BTF on
BASE (module files under ``/sys/kernel/btf`` get vmlinux automatically); only the
split part is printed, with absolute type IDs.  ``--id`` restricts the dump to
the listed type IDs, in the order given (base IDs allowed).

FILE may be a directory: every file under it that carries BTF is dumped, in
sorted path order, each read as if named on the command line; in raw format
each dump is preceded by a ``==> PATH <==`` line, in JSON each document gains a
leading ``"file"`` member.  ``--ext EXT`` (one FILE only) adds the records of a
``.BTF.ext`` — the ``OUT.ext`` written by ``dedup --ext``, or an ELF object's
section — after the types, in the text form of :mod:`btfdedup.render.ext` (with
JSON output: as the document's last member, ``"btf_ext"``).
Bytes of FILE that no BTF section covers are not dumped: a one-line note on
stderr says how many (the kernel refuses such a blob; ``validate`` says why).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator

from btfdedup.errors import CommandLineError
from btfdedup.io.load import load, load_ext
from btfdedup.model.btf import Btf


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dump`` verb."""
    p = sub.add_parser(
        "dump",
        help="print BTF types like 'bpftool btf dump file FILE' (raw text or JSON)",
        description="Print every type of a BTF file (raw BTF, ELF object, kernel module) in bpftool's "
        "raw format or its JSON shape.",
    )
    p.add_argument("file", metavar="FILE", help="raw BTF, ELF object (.o, .ko, vmlinux) or /sys/kernel/btf/*")
    p.add_argument("--base", "-B", metavar="BASE", help="base BTF when FILE is split BTF (like bpftool -B)")
    p.add_argument("--format", choices=("raw", "json"), default=None, help="output format (default: raw)")
    p.add_argument("--json", "-j", action="store_true", help="same as --format json")
    p.add_argument("--pretty", "-p", action="store_true", help="indented JSON like bpftool -p (implies JSON)")
    p.add_argument(
        "--id",
        dest="ids",
        metavar="ID",
        type=int,
        nargs=1,
        action="extend",
        help="dump only this type ID (repeat --id for more; printed in the order given)",
    )
    p.add_argument(
        "--ext",
        metavar="EXT",
        help=".BTF.ext whose records to print after the types (the OUT.ext of 'dedup --ext', or an ELF object)",
    )
    p.set_defaults(func=run)


def note_unclaimed(btf: Btf, path: str) -> None:
    """One ``btfdedup: note:`` line on stderr when the reader dropped bytes of ``path``."""
    from btfdedup.io.raw import describe_unclaimed

    text = describe_unclaimed(btf.trailing_len, btf.gap_len)
    if text:
        print(
            f"btfdedup: note: {path}: {text} and {'is' if btf.trailing_len + btf.gap_len == 1 else 'are'} "
            "not shown; the kernel refuses such a blob (see 'btfdedup validate')",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    """Load FILE (on BASE) and stream the dump to stdout."""
    from btfdedup.cli.main import input_files

    fmt = args.format or ("json" if (args.json or args.pretty) else "raw")
    if args.format == "raw" and (args.json or args.pretty):
        raise CommandLineError("--format raw cannot be combined with --json/--pretty")
    if args.ext and os.path.isdir(args.file):
        raise CommandLineError("--ext belongs to one BTF file: FILE cannot be a directory with it")
    files = input_files(args.file)
    base = load(args.base) if args.base else None
    many = os.path.isdir(args.file)
    out = sys.stdout.buffer
    for i, path in enumerate(files):
        btf = load(path, base=base)
        ext = load_ext(args.ext, btf) if args.ext else None
        if fmt == "json":
            from btfdedup.render.json import iter_json_chunks

            chunks = iter_json_chunks(btf, args.ids, pretty=args.pretty)
            if many:
                chunks = _with_file_member(chunks, path)
            if ext is not None:
                from btfdedup.render.ext import ext_to_json

                chunks = iter([_with_ext_member(b"".join(chunks), ext_to_json(btf, ext), pretty=args.pretty)])
                ext = None
        else:
            from btfdedup.render.raw import iter_raw_chunks

            chunks = iter_raw_chunks(btf, args.ids)
        sys.stdout.flush()
        note_unclaimed(btf, path)
        if many and fmt == "raw":
            out.write((b"\n" if i else b"") + f"==> {path} <==\n".encode())
        for data in chunks:
            out.write(data)
        if ext is not None:
            from btfdedup.render.ext import iter_ext_lines

            out.write(b"\n")
            for line in iter_ext_lines(btf, ext):
                out.write(line.encode() + b"\n")
        out.flush()
    return 0


def _with_file_member(chunks: Iterator[bytes], path: str) -> Iterator[bytes]:
    """The JSON document of ``chunks`` with ``"file": path`` as its first member."""
    started = False
    for data in chunks:
        if not started and data:
            started = True
            yield b'{"file":' + json.dumps(path).encode() + b"," + data[1:]
            continue
        yield data


def _with_ext_member(doc: bytes, ext_doc: dict[str, object], *, pretty: bool) -> bytes:
    """The JSON document ``doc`` (compact or bpftool's ``-p`` layout, newline-ended)
    with ``"btf_ext": ext_doc`` added as its last member."""
    if pretty:
        body = json.dumps(ext_doc, indent=4).replace("\n", "\n    ")
        return doc.rstrip()[:-1].rstrip() + b',\n    "btf_ext": ' + body.encode() + b"\n}\n"
    return doc.rstrip()[:-1] + b',"btf_ext":' + json.dumps(ext_doc, separators=(",", ":")).encode() + b"}\n"
