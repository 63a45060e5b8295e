"""Shared pieces of the ``tests/test_kernel_*.py`` suites: the bpf(2) probe, CLI runner, small blobs.

The probe runs once per session; tests that need bpf(2) take the ``bpf_ok``
fixture and skip, with the reason, where the kernel refuses (no CAP_BPF, no
bpf(2), seccomp).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
    path = shutil.which("bpftool")
    if path is None:
        pytest.skip("bpftool not installed")
    return path


def bpftool_show_json() -> list[dict[str, Any]]:
    out = subprocess.run([need_bpftool(), "btf", "show", "-j"], capture_output=True, text=True, check=True).stdout
    data: list[dict[str, Any]] = json.loads(out)
    return data


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
