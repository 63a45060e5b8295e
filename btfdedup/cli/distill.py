"""``btfdedup distill``: a module's distilled base and its split BTF on it.

``btfdedup distill MODULE --base VMLINUX [-o OUTDIR] [--ko OUT.ko] [--libbpf-version V]``

MODULE (split BTF on VMLINUX: a ``.ko`` or raw split BTF) is distilled as libbpf's
``btf__distill_base`` does (byte-identical): ``-o`` writes ``OUTDIR/<name>.base.btf``
(the distilled base) and ``OUTDIR/<name>.btf`` (the new split BTF on it), ``--ko``
a copy of the input ``.ko`` carrying them as ``.BTF.base`` and ``.BTF``, as pahole
``--btf_features=distilled_base`` builds out-of-tree modules.  Prints one summary line.
"""

from __future__ import annotations

import argparse

from btfdedup.cli.choices import LIBBPF_VERSION_CHOICES
from btfdedup.io.load import load


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``distill`` verb."""
    p = sub.add_parser(
        "distill",
        help="distill a module's base (libbpf btf__distill_base): <name>.base.btf + <name>.btf, or a .ko",
        description="Distill MODULE's base BTF as libbpf btf__distill_base does: a minimal base naming only the "
        "base types the module uses (by name and size), and the module's split BTF on it, so that it can be "
        "relocated onto another kernel's vmlinux (btfdedup relocate).",
    )
    p.add_argument("module", metavar="MODULE", help="the module: .ko (.xz/.zst/.gz) or raw split BTF on VMLINUX")
    p.add_argument("--base", "-B", metavar="VMLINUX", required=True, help="the base BTF the module was built on")
    p.add_argument("-o", "--output", metavar="OUTDIR", help="write OUTDIR/<name>.base.btf and OUTDIR/<name>.btf")
    p.add_argument("--ko", metavar="OUT.ko", help="write a copy of the input .ko with .BTF.base and the new .BTF")
    p.add_argument("--libbpf-version", default="1.6", choices=LIBBPF_VERSION_CHOICES,
                   help="libbpf release whose btf__new_empty header the outputs get (default: 1.6)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from btfdedup.errors import CommandLineError
    from btfdedup.workflows.distill import distill_file

    if args.output is None and args.ko is None:
        raise CommandLineError("distill: give -o OUTDIR and/or --ko OUT.ko")
    base = load(args.base)
    res = distill_file(args.module, base, base_path=args.base, outdir=args.output, ko=args.ko,
                       libbpf_version=args.libbpf_version)
    d = res.distilled
    print(f"{res.name}: {len(d.base):,} distilled base types (of {res.base_types:,}), {len(d.split):,} split types "
          f"-> {', '.join(res.outputs)}")
    return 0
