"""``btfdedup.kernel``: BPF_BTF_LOAD verdicts, enumeration and read-back, judged by the running kernel.

The references are the kernel itself (its accept/reject verdict, its verifier
log text, the bytes it serves in /sys/kernel/btf) and bpftool's view of the
same objects.  Every test here needs bpf(2) and skips where it is refused.
"""

from __future__ import annotations

import ctypes
import errno
import lzma
import os
import struct

import pytest

from btfdedup.errors import KernelError
from btfdedup.kernel import (
    BtfFd,
    btf_fd_bytes,
    btf_get_bytes,
    btf_get_fd_by_id,
    btf_info,
    btf_load,
    btf_load_verdict,
    iter_btf_ids,
    iter_btf_infos,
)
from btfdedup.kernel import btf as kbtf
from btfdedup.kernel import syscall as sc
from tests._kernel_helpers import REPO, bpf_ok, bpftool_show_json, tiny_btf, vmlinux_bytes  # noqa: F401

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("bpf_ok")]


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the btf_log_size of every BPF_BTF_LOAD we issue (the real syscall still runs)."""
    calls: list[int] = []
    real = sc.bpf

    def spy(cmd: int, attr: ctypes.Structure) -> int:
        if cmd == sc.BPF_BTF_LOAD:
            calls.append(int(attr.btf_log_size))  # type: ignore[attr-defined]
        return real(cmd, attr)

    monkeypatch.setattr(sc, "bpf", spy)
    return calls


def _vmlinux_id() -> int:
    for info in iter_btf_infos():
        if info.kernel_btf and info.name == "vmlinux":
            return info.id
    pytest.skip("kernel lists no vmlinux BTF object")


def _corrupt_last_type(data: bytes) -> bytes:
    """``data`` with its last type's kind set to 31, which no kernel knows."""
    from btfdedup.io.raw import parse_raw

    btf = parse_raw(data)
    hdr_len = struct.unpack_from("=I", data, 4)[0]
    type_off = struct.unpack_from("=I", data, 8)[0]
    pos = hdr_len + type_off + 4 * int(btf.type_start[-2]) + 4
    out = bytearray(data)
    info = struct.unpack_from("=I", out, pos)[0]
    struct.pack_into("=I", out, pos, (info & ~(0x1F << 24)) | (0x1F << 24))
    return bytes(out)


# --------------------------------------------------------------------------- load


def test_load_sysfs_vmlinux_is_accepted_and_reads_back_identical() -> None:
    data = vmlinux_bytes()
    with btf_load(data, log_level=0) as fd:
        assert isinstance(fd, BtfFd)
        info = fd.info()
        assert info.size == len(data)
        assert not info.kernel_btf and info.name == ""
        assert info.id in set(iter_btf_ids())
        assert btf_fd_bytes(fd) == data
        assert btf_get_bytes(info.id) == data
        # bpftool sees the object we hold, with the same size.
        seen = {o["id"]: o for o in bpftool_show_json()}
        assert seen[info.id]["size"] == len(data) and seen[info.id]["kernel"] is False


def test_load_committed_6_1_base_is_accepted() -> None:
    path = REPO / "corpora" / "modules" / "vmlinux-6.1.btf.xz"
    if not path.exists():
        pytest.skip(f"{path} not committed")
    data = lzma.decompress(path.read_bytes())
    ok, err, log = btf_load_verdict(data, log_level=0)
    assert (ok, err) == (True, 0), log[-500:]


@pytest.mark.corpus
def test_load_corpus_6_1_base_is_accepted(corpora_dir) -> None:  # type: ignore[no-untyped-def]
    data = (corpora_dir / "modules-6.1" / "vmlinux.btf").read_bytes()
    with btf_load(data, log_level=0) as fd:
        assert btf_fd_bytes(fd) == data


def test_broken_blob_raises_with_the_kernels_log() -> None:
    data = vmlinux_bytes()[:2000]  # header promises far more than 2000 bytes
    with pytest.raises(KernelError) as ei:
        btf_load(data)
    e = ei.value
    assert e.errno == errno.EINVAL
    assert "magic: 0xeb9f" in e.log and "Total section length too long" in e.log
    assert "Total section length too long" in str(e)


def test_verdict_never_raises_for_a_rejection() -> None:
    ok, err, log = btf_load_verdict(b"\x9f\xeb\x01\x00" + b"\0" * 20)
    assert not ok and err == errno.EINVAL and log
    assert btf_load_verdict(tiny_btf()) == (True, 0, btf_load_verdict(tiny_btf())[2])
    assert btf_load_verdict(tiny_btf())[0] is True


def test_log_too_small_is_retried_once_with_the_kernels_true_size(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_loads(monkeypatch)
    data = tiny_btf()
    with btf_load(data, log_level=1, log_size=128) as fd:
        log = fd.log
    if len(calls) == 1:
        pytest.skip("the level-1 log of a one-type BTF fits 128 bytes on this kernel")
    assert len(calls) == 2 and calls[0] == 128 and calls[1] > 128
    # The second buffer was exactly what the kernel asked for: log plus NUL.
    assert len(log) + 1 == calls[1]
    assert log.startswith("magic: 0xeb9f")


def test_rejection_with_small_log_reports_the_real_errno_and_the_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _corrupt_last_type(vmlinux_bytes())
    calls = _count_loads(monkeypatch)
    with pytest.raises(KernelError) as ei:
        btf_load(bad, log_level=1, log_size=4096)
    e = ei.value
    # Without the retry the kernel's answer is ENOSPC (log full), not the verdict.
    assert e.errno == errno.EINVAL
    assert len(calls) == 2
    assert e.log.splitlines()[-1].endswith("Invalid kind:31")
    assert len(e.log) > 4096


def test_kernel_returns_enospc_when_the_log_is_truncated() -> None:
    # The behaviour the retry exists for, observed directly.
    att = kbtf._attempt(tiny_btf(), 1, 128, 0, None)
    if att.fd >= 0:
        os.close(att.fd)
        pytest.skip("log fitted in 128 bytes")
    assert att.errno == errno.ENOSPC
    assert att.true_size > 128


def test_over_16_mib_is_refused_before_the_syscall_and_the_kernel_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    big = tiny_btf() + b"\0" * (sc.BTF_MAX_SIZE)
    att = kbtf._attempt(big, 0, 0, 0, None)  # the kernel's own answer
    assert att.fd < 0 and att.errno == errno.E2BIG
    calls = _count_loads(monkeypatch)
    with pytest.raises(KernelError) as ei:
        btf_load(big)
    assert ei.value.errno == errno.E2BIG and "16 MiB" in str(ei.value)
    assert calls == []
    assert btf_load_verdict(big)[:2] == (False, errno.E2BIG)


def test_bad_log_level_bits_are_refused() -> None:
    with pytest.raises(KernelError) as ei:
        btf_load(tiny_btf(), log_level=16)
    assert ei.value.errno == errno.EINVAL


def test_log_level_with_stats_and_fixed_is_accepted_by_this_kernel() -> None:
    with btf_load(tiny_btf(), log_level=sc.BPF_LOG_LEVEL1 | sc.BPF_LOG_STATS | sc.BPF_LOG_FIXED) as fd:
        assert fd.id > 0


def test_token_fd_that_is_not_a_token_is_refused() -> None:
    with open("/dev/null", "rb") as f:
        with pytest.raises(KernelError) as info:
            btf_load(tiny_btf(), token_fd=f.fileno()).close()
        assert info.value.errno in (errno.EINVAL, errno.EBADF, errno.E2BIG)


# ------------------------------------------------------------------- enumeration


def test_kernel_vmlinux_object_matches_sysfs() -> None:
    vid = _vmlinux_id()
    info = btf_info(btf_get_fd_by_id(vid))
    data = vmlinux_bytes()
    assert info.name == "vmlinux" and info.kernel_btf and info.size == len(data)
    assert btf_get_bytes(vid) == data


def test_infos_match_bpftool_ids_names_sizes() -> None:
    with btf_load(tiny_btf()) as fd:
        for _ in range(5):
            before = bpftool_show_json()
            ours = list(iter_btf_infos())
            after = bpftool_show_json()
            if before == after:
                break
        else:
            pytest.skip("BTF objects kept changing under us (other tests loading concurrently)")
        ref = {o["id"]: (o.get("name", ""), o["size"], o["kernel"]) for o in before}
        got = {i.id: (i.name, i.size, i.kernel_btf) for i in ours}
        assert got == ref
        assert fd.id in got


def test_missing_id_is_enoent() -> None:
    ids = list(iter_btf_ids())
    missing = (max(ids) if ids else 0) + 1_000_000
    with pytest.raises(KernelError) as ei:
        btf_get_fd_by_id(missing)
    assert ei.value.errno == errno.ENOENT and str(missing) in str(ei.value)


def test_objects_vanishing_mid_walk_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with btf_load(tiny_btf()) as keep, btf_load(tiny_btf()) as gone:
        gone_id = gone.id
        real = kbtf.btf_get_fd_by_id

        def racy(btf_id: int) -> BtfFd:
            if btf_id == gone_id:
                # The real kernel answer for an object freed after GET_NEXT_ID listed it.
                raise KernelError("no BTF object", errno=errno.ENOENT)
            return real(btf_id)

        monkeypatch.setattr(kbtf, "btf_get_fd_by_id", racy)
        ids = {i.id for i in iter_btf_infos()}
        assert keep.id in ids and gone_id not in ids


def test_fd_ownership() -> None:
    fd = btf_load(tiny_btf())
    n = fd.fd
    os.fstat(n)
    fd.close()
    fd.close()
    assert fd.closed
    with pytest.raises(OSError):
        os.fstat(n)
    with pytest.raises(KernelError):
        _ = fd.fd
    fd2 = btf_load(tiny_btf())
    raw = fd2.detach()
    del fd2
    os.fstat(raw)  # detached: still open after the object is gone
    os.close(raw)
