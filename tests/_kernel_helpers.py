"""Shared pieces of the ``tests/test_kernel_*.py`` suites: the bpf(2) probe, CLI runner, small blobs.

The probe runs once per session; tests that need bpf(2) take the ``bpf_ok``
fixture and skip, with the reason, where the kernel refuses (no CAP_BPF, no
bpf(2), seccomp).
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.oracle.libbpf import find_bpftool

REPO = Path(__file__).resolve().parent.parent
SYSFS_VMLINUX = Path("/sys/kernel/btf/vmlinux")

_probe: list[str | None] = []


def tiny_btf() -> bytes:
    """A minimal valid base BTF: ``[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED``."""
    strs = b"\0int\0"
    types = struct.pack("=IIII", 1, 1 << 24, 4, (1 << 24) | 32)
    hdr = struct.pack("=HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr + types + strs


def bpf_skip_reason() -> str | None:
    """Why bpf(2) cannot be exercised here, or None."""
    if _probe:
        return _probe[0]
    reason: str | None = None
    try:
        from btfdedup.errors import KernelError
        from btfdedup.kernel import btf_load, iter_btf_ids

        btf_load(tiny_btf(), log_level=0).close()
        next(iter(iter_btf_ids()), None)
    except KernelError as e:
        reason = f"bpf(2) refused here: {e}"
    _probe.append(reason)
    return reason


@pytest.fixture(scope="session")
def bpf_ok() -> None:
    reason = bpf_skip_reason()
    if reason is not None:
        print(f"skipping kernel tests: {reason}", file=sys.stderr)
        pytest.skip(reason)


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a CLI subprocess: ours, with the checkout first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "btfdedup", *args]


def run_cli(
    *args: str, prefix: list[str] | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m btfdedup ARGS`` in a subprocess (optionally under a privilege-dropping prefix)."""
    cmd = [*(prefix or []), *cli_argv(*args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=cli_env(env), cwd="/", timeout=300)


def need_bpftool() -> str:
    path = find_bpftool()
    if path is None:
        pytest.skip("bpftool not installed (or hidden by BTFDEDUP_NO_ORACLES=1): it is the judge here and "
                    "the running kernel's objects cannot have a committed expectation")
    return path


def bpftool_show_json() -> list[dict[str, Any]]:
    """The kernel's BTF objects as ``bpftool btf show -j`` lists them.

    Where bpftool is not installed, the same rows come from :func:`kernel_btf_rows`, a
    reader written here from the UAPI (not btfdedup's): the reference for live kernel
    state is the kernel itself, bpftool is one reader of it, and this is another.
    """
    path = find_bpftool()
    if path is None:
        return kernel_btf_rows()
    out = subprocess.run([path, "btf", "show", "-j"], capture_output=True, text=True, check=True).stdout
    data: list[dict[str, Any]] = json.loads(out)
    return data


# bpf(2) commands and info layouts of include/uapi/linux/bpf.h, for kernel_btf_rows
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
_PROG_GET_NEXT_ID, _MAP_GET_NEXT_ID, _PROG_GET_FD_BY_ID, _MAP_GET_FD_BY_ID = 11, 12, 13, 14
_OBJ_GET_INFO_BY_FD, _BTF_GET_FD_BY_ID, _BTF_GET_NEXT_ID = 15, 19, 23
_PROG_INFO_BTF_ID = 128  # offset of btf_id in struct bpf_prog_info
_MAP_INFO_BTF_ID = 64  # offset of btf_id in struct bpf_map_info


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    nr = _SYS_BPF[os.uname().machine]
    return int(libc.syscall(ctypes.c_long(nr), ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr))))


def _ids(cmd: int) -> list[int]:
    out, start = [], 0
    while True:
        attr = ctypes.create_string_buffer(struct.pack("=III", start, 0, 0), 16)
        if _bpf(cmd, attr) < 0:
            return out  # ENOENT: no more objects
        start = struct.unpack_from("=I", attr.raw, 4)[0]
        out.append(start)


def _info(get_fd_cmd: int, obj_id: int, size: int, name_buf: ctypes.Array[ctypes.c_char] | None = None) -> bytes | None:
    """``struct bpf_*_info`` of object ``obj_id`` (None if it vanished meanwhile)."""
    fd = _bpf(get_fd_cmd, ctypes.create_string_buffer(struct.pack("=III", obj_id, 0, 0), 16))
    if fd < 0:
        return None
    try:
        info = ctypes.create_string_buffer(size)
        if name_buf is not None:  # struct bpf_btf_info: .name and .name_len point at our buffer
            struct.pack_into("=QI", info, 16, ctypes.addressof(name_buf), len(name_buf))
        attr = ctypes.create_string_buffer(struct.pack("=IIQ", fd, size, ctypes.addressof(info)), 16)
        if _bpf(_OBJ_GET_INFO_BY_FD, attr) < 0:
            return None
        return info.raw
    finally:
        os.close(fd)


def kernel_btf_rows() -> list[dict[str, Any]]:
    """Every BTF object the kernel lists, as rows shaped like ``bpftool btf show -j``:
    id, size, the IDs of the programs and maps that use it, kernel flag, and the name
    when it has one."""
    users: dict[int, tuple[list[int], list[int]]] = {}
    for pid in _ids(_PROG_GET_NEXT_ID):
        info = _info(_PROG_GET_FD_BY_ID, pid, 256)
        if info is not None and (btf_id := struct.unpack_from("=I", info, _PROG_INFO_BTF_ID)[0]):
            users.setdefault(btf_id, ([], []))[0].append(pid)
    for mid in _ids(_MAP_GET_NEXT_ID):
        info = _info(_MAP_GET_FD_BY_ID, mid, 128)
        if info is not None and (btf_id := struct.unpack_from("=I", info, _MAP_INFO_BTF_ID)[0]):
            users.setdefault(btf_id, ([], []))[1].append(mid)
    rows: list[dict[str, Any]] = []
    for bid in _ids(_BTF_GET_NEXT_ID):
        name = ctypes.create_string_buffer(256)
        info = _info(_BTF_GET_FD_BY_ID, bid, 32, name)
        if info is None:
            continue
        size, obj_id = struct.unpack_from("=II", info, 8)
        kernel = bool(struct.unpack_from("=I", info, 28)[0])
        progs, maps = users.get(bid, ([], []))
        row: dict[str, Any] = {"id": obj_id, "size": size, "prog_ids": progs, "map_ids": maps, "kernel": kernel}
        if name.value:
            row["name"] = name.value.decode()
        rows.append(row)
    return rows


def vmlinux_bytes() -> bytes:
    if not SYSFS_VMLINUX.exists():
        pytest.skip("/sys/kernel/btf/vmlinux missing (kernel without CONFIG_DEBUG_INFO_BTF)")
    return SYSFS_VMLINUX.read_bytes()


def split_on(base: bytes) -> bytes:
    """A small split BTF on ``base``: ``struct btfdedup_probe { int x; }`` and a pointer to it.

    The member type is the base's ``int``; IDs and string offsets continue the base's.
    """
    from btfdedup.format.constants import Kind
    from btfdedup.io.raw import parse_raw

    b = parse_raw(base, source="base")
    int_ids = b.find_by_name("int", Kind.INT)
    assert int_ids, "base has no 'int'"
    str_base = len(b.strings.data)
    strs = b"btfdedup_probe\0x\0"
    sid = b.type_cnt
    types = struct.pack("=IIIIII", str_base, (4 << 24) | 1, 4, str_base + 15, int_ids[0], 0)
    types += struct.pack("=III", 0, 2 << 24, sid)
    hdr = struct.pack("=HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr + types + strs
