"""``btfdedup kernel``: the running kernel's BTF objects through bpf(2).

Verbs:

* ``list [--json]`` — every BTF object, in ``bpftool btf show`` shapes.
  ``prog_ids``/``map_ids`` are found the way bpftool finds them, by walking all
  programs and maps and reading their ``btf_id``; they are printed ascending
  (bpftool prints them in its hash table's order).  bpftool's ``pids`` field
  (which processes hold an fd) needs a BPF iterator program and is not reported.
* ``get ID -o FILE`` — the object's raw bytes, written atomically.  For module
  BTF it also says which base the bytes need (vmlinux).
* ``load FILE`` — the kernel's verdict on a BTF file (raw or ELF).  Prints the
  new object's ID; the object is released when the command exits unless
  ``--pin`` put it on bpffs.  bpffs cannot pin a BTF object itself, so ``--pin``
  pins a one-entry array map that holds the BTF (see
  :mod:`btfdedup.kernel.anchor`); removing the pin releases both.  A split
  FILE cannot be loaded alone (``BPF_BTF_LOAD`` has no base-BTF field);
  ``--merge-base`` loads base and split as one standalone blob.  A rejection
  prints the kernel's log and exits 1.

Every failure (no privilege, old kernel, rejected BTF) ends as one
``btfdedup: error:`` line through :class:`btfdedup.errors.KernelError`.
"""

from __future__ import annotations

import argparse
import errno as errno_mod
import json
import struct
import sys
from typing import TYPE_CHECKING, Any

from btfdedup.errors import BtfUsageError, KernelError

if TYPE_CHECKING:
    from btfdedup.kernel.fd import BtfFd
    from btfdedup.model.btf import Btf


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kernel`` and its verbs to the top-level subparsers."""
    p = sub.add_parser(
        "kernel",
        help="list, read and load BTF objects in the running kernel (bpf(2))",
        description="Talk to the running kernel's BTF objects through bpf(2). Needs root "
        "(CAP_SYS_ADMIN to enumerate and read, CAP_BPF to load).",
    )
    ksub = p.add_subparsers(dest="kernel_verb", metavar="VERB")
    ksub.required = True

    pl = ksub.add_parser("list", aliases=["show"], help="list BTF objects like 'bpftool btf show'")
    pl.add_argument("--json", action="store_true", help="one-line JSON like 'bpftool btf show -j'")
    pl.set_defaults(func=cmd_list)

    pg = ksub.add_parser("get", help="write a BTF object's raw bytes to a file")
    pg.add_argument("id", type=int, metavar="ID", help="BTF object ID (see 'kernel list')")
    pg.add_argument("-o", "--output", required=True, metavar="FILE", help="output file ('-' for stdout)")
    pg.set_defaults(func=cmd_get)

    pd = ksub.add_parser("load", help="ask the kernel to load a BTF file (BPF_BTF_LOAD) and report its verdict")
    pd.add_argument("file", metavar="FILE", help="raw BTF or an ELF object with .BTF")
    pd.add_argument("--base", metavar="BASE", help="base BTF of a split FILE (needed with --merge-base)")
    pd.add_argument(
        "--merge-base",
        action="store_true",
        help="load split FILE and its base as one standalone blob (BPF_BTF_LOAD has no base-BTF field)",
    )
    pd.add_argument(
        "--log-level",
        type=int,
        default=None,
        metavar="N",
        help="verifier log level: 1, 2, |4 for stats, |8 to keep the log's head (default: 1, log shown on failure only; "
        "given explicitly, the log is also shown on success)",
    )
    pd.add_argument(
        "--log-size", type=_byte_count, default=None, metavar="BYTES", help="first log buffer size (at least 128 is used)"
    )
    pd.add_argument("--pin", metavar="PATH", help="keep the object after exit: pin (at PATH on bpffs) a one-entry map holding it")
    pd.add_argument("--json", action="store_true", help="print the result as one-line JSON")
    pd.set_defaults(func=cmd_load)


def _byte_count(text: str) -> int:
    """argparse type: a buffer size in bytes, >= 0 (the kernel's field is a __u32)."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"expected a size in bytes (0 to 4294967295), got {text!r}")
    return n


# ----------------------------------------------------------------------------- list


def _list_rows() -> list[dict[str, Any]]:
    from btfdedup.kernel import iter_btf_infos
    from btfdedup.kernel.objects import btf_map_ids, btf_prog_ids

    # BTF objects first, so that missing privilege is reported for the BTF walk itself.
    infos = list(iter_btf_infos())
    progs = btf_prog_ids()
    maps = btf_map_ids()
    rows: list[dict[str, Any]] = []
    for info in infos:
        row: dict[str, Any] = {
            "id": info.id,
            "size": info.size,
            "prog_ids": progs.get(info.id, []),
            "map_ids": maps.get(info.id, []),
            "kernel": info.kernel_btf,
        }
        if info.name:
            row["name"] = info.name
        rows.append(row)
    return rows


def _plain_row(row: dict[str, Any]) -> str:
    name = row.get("name", "")
    if row["kernel"]:
        label = f"name [{name}]"
    elif name:
        label = f"name {name}"
    else:
        label = "name <anon>"
    line = f"{row['id']}: {label}  size {row['size']}B"
    if row["prog_ids"]:
        line += "  prog_ids " + ",".join(map(str, row["prog_ids"]))
    if row["map_ids"]:
        line += "  map_ids " + ",".join(map(str, row["map_ids"]))
    return line


def cmd_list(args: argparse.Namespace) -> int:
    rows = _list_rows()
    if args.json:
        print(json.dumps(rows, separators=(",", ":")))
    else:
        for row in rows:
            print(_plain_row(row))
    return 0


# ------------------------------------------------------------------------------ get


def _vmlinux_id() -> int | None:
    from btfdedup.kernel import iter_btf_infos

    for info in iter_btf_infos():
        if info.kernel_btf and info.name == "vmlinux":
            return info.id
    return None


def cmd_get(args: argparse.Namespace) -> int:
    from btfdedup.io.writer import STDOUT, check_output, write_output
    from btfdedup.kernel import btf_fd_bytes, btf_get_fd_by_id

    if args.output == STDOUT:
        check_output(args.output)  # '-' on a terminal is a usage error: before the syscalls
    with btf_get_fd_by_id(args.id) as fd:
        info = fd.info()
        data = btf_fd_bytes(fd)
    to_stdout = args.output == STDOUT
    note = sys.stderr if to_stdout else sys.stdout
    write_output(args.output, data)
    if not to_stdout:
        what = f"module '{info.name}'" if info.kernel_btf and info.name != "vmlinux" else (info.name or "anonymous")
        print(f"wrote {len(data)} bytes of BTF object {info.id} ({what}) to {args.output}", file=note)
    if info.kernel_btf and info.name != "vmlinux":
        vid = _vmlinux_id()
        where = f"BTF ID {vid}" if vid is not None else "not found in this kernel"
        print(
            f"split BTF: needs base vmlinux ({where}); e.g. btfdedup dump --base /sys/kernel/btf/vmlinux {args.output}",
            file=note,
        )
    return 0


# ----------------------------------------------------------------------------- load


def _looks_split(data: bytes) -> bool:
    """A raw blob whose string section does not start with NUL can only be split BTF."""
    if len(data) < 24 or data[:2] not in (b"\x9f\xeb", b"\xeb\x9f"):
        return False
    bo = "<" if data[:2] == b"\x9f\xeb" else ">"
    hdr_len, _, _, str_off, str_len = struct.unpack_from(bo + "IIIII", data, 4)
    pos = hdr_len + str_off
    return str_len > 0 and pos < len(data) and data[pos] != 0


def _unfixed_datasecs(btf: Btf) -> bool:
    """Whether ``btf`` has DATASECs of size 0, as clang leaves them in BPF objects."""
    from btfdedup.format.constants import Kind

    return bool(((btf.kind == int(Kind.DATASEC)) & (btf.size_type == 0)).any())


def _blob(args: argparse.Namespace) -> tuple[bytes, str, list[str]]:
    """The bytes to hand to the kernel, a note on how they were made, and hints for a rejection."""
    from btfdedup.io import compressed, sysfs
    from btfdedup.io.load import load, read_file
    from btfdedup.kernel.flatten import flatten_bytes

    path = args.file
    if args.base is None:
        data = compressed.maybe_decompress(read_file(path), path)
        is_raw = data[:2] in (b"\x9f\xeb", b"\xeb\x9f")
        if is_raw and sysfs.auto_base(path) is None:
            if args.merge_base:
                raise BtfUsageError("--merge-base needs --base BASE (the base BTF the split FILE was built on)")
            # Raw BTF: the kernel judges the file's exact bytes, not our re-encoding.
            hints = []
            if _looks_split(data):
                hints.append(
                    f"{path} looks like split BTF (its strings do not start with NUL); try --base BASE --merge-base"
                )
            return data, "raw file", hints
    btf = load(path, base=args.base)
    hints = []
    if _unfixed_datasecs(btf):
        hints.append(
            "DATASECs of size 0 are how clang leaves BPF objects; libbpf fills in their sizes and "
            "variable offsets from the ELF sections before it loads the BTF, so the kernel never sees them like this"
        )
    if btf.is_split and not args.merge_base:
        raise BtfUsageError(
            f"{path} is split BTF: BPF_BTF_LOAD loads standalone BTF only (it has no base-BTF field); "
            "add --merge-base to load it together with its base as one blob"
        )
    if btf.is_split:
        return flatten_bytes(btf), f"base and split merged, {btf.type_cnt - 1} types", hints
    if args.merge_base:
        print(f"note: {path} is not split BTF; --merge-base changes nothing", file=sys.stderr)
    return btf.to_bytes(), "standalone", hints


def _report_rejection(e: KernelError, hints: list[str]) -> None:
    _print_log(e.log)
    if e.errno == errno_mod.EINVAL:
        for hint in hints:
            print(f"hint: {hint}", file=sys.stderr)


def _load_reporting(data: bytes, args: argparse.Namespace, hints: list[str]) -> BtfFd:
    """Load ``data``; on rejection print the kernel's log (and a hint) before re-raising."""
    from btfdedup.kernel import btf_load

    if args.log_level is None:
        # Load quietly first and ask for a log only on rejection, as libbpf does:
        # a level-1 log of an accepted vmlinux is about 10 MB.
        try:
            return btf_load(data, log_level=0)
        except KernelError as e:
            if e.errno in (errno_mod.EPERM, errno_mod.ENOSYS, errno_mod.E2BIG):
                raise
        level = 1
    else:
        level = args.log_level
    try:
        return btf_load(data, log_level=level, log_size=args.log_size)
    except KernelError as e:
        _report_rejection(e, hints)
        raise


def cmd_load(args: argparse.Namespace) -> int:
    from btfdedup.kernel.anchor import pin_btf

    data, how, hints = _blob(args)
    with _load_reporting(data, args, hints) as fd:
        info = fd.info()
        if args.log_level is not None and fd.log:
            _print_log(fd.log)
        pinned = None
        if args.pin:
            pin_btf(fd, args.pin, data=data)
            pinned = args.pin
        if args.json:
            out: dict[str, Any] = {"id": info.id, "size": info.size, "source": how}
            if pinned:
                out["pinned"] = pinned
            print(json.dumps(out, separators=(",", ":")))
        else:
            tail = f"pinned at {pinned}" if pinned else "released when this command exits"
            print(f"loaded BTF object ID {info.id} ({info.size} bytes, {how}); {tail}")
    return 0


def _print_log(log: str) -> None:
    if log:
        sys.stderr.write(log if log.endswith("\n") else log + "\n")
        sys.stderr.flush()


__all__ = ["register"]

