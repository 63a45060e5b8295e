"""``btfdedup relocate``: a module's split BTF moved from its distilled base onto a full base.

``btfdedup relocate MODULE [--dist-base DBASE] [--base VMLINUX] -o OUT [--libbpf-version V]``

MODULE is split BTF on a distilled base: a ``.ko`` with a ``.BTF.base`` section, or a
raw file whose distilled base is given with ``--dist-base``.  It is relocated as
libbpf's ``btf__relocate`` does (byte-identical) onto VMLINUX (default: the running
kernel's ``/sys/kernel/btf/vmlinux``) and written to OUT as split BTF on it.  When a
distilled type has no match in VMLINUX, or several, one error line names every such
type and why, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys

from btfdedup.cli.choices import LIBBPF_VERSION_CHOICES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``relocate`` verb."""
    p = sub.add_parser(
        "relocate",
        help="relocate a module's split BTF from its distilled base onto a vmlinux (libbpf btf__relocate)",
        description="Relocate MODULE's split BTF from its distilled base (.BTF.base, or --dist-base) onto "
        "VMLINUX as libbpf btf__relocate does, and write it to OUT as split BTF on VMLINUX.",
    )
    p.add_argument("module", metavar="MODULE", help="a .ko with .BTF.base, or raw split BTF on --dist-base")
    p.add_argument("--dist-base", metavar="DBASE", help="the distilled base of a raw MODULE (overrides .BTF.base)")
    p.add_argument("--base", "-B", metavar="VMLINUX", help="the base to relocate onto (default: /sys/kernel/btf/vmlinux)")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="where to write the relocated split BTF")
    p.add_argument("--libbpf-version", default="1.6", choices=LIBBPF_VERSION_CHOICES,
                   help="libbpf release to reproduce (every release keeps the input's header; default: 1.6)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from btfdedup.workflows.relocate import relocate_file

    module, out = relocate_file(args.module, args.output, dist_base_path=args.dist_base, base_path=args.base,
                                libbpf_version=args.libbpf_version)
    dist = module.base
    assert dist is not None and out.base is not None
    print(f"{args.module}: {len(module):,} split types relocated from {len(dist):,} distilled base types onto "
          f"{out.base.type_cnt - 1:,} base types -> {args.output}",
          file=sys.stderr if args.output == "-" else sys.stdout)  # stdout may carry the BTF
    return 0
