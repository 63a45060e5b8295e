"""The running kernel's BTF through ``bpf(2)`` (ctypes, no libbpf).

``btf_load`` asks the kernel for its verdict on a blob; ``iter_btf_infos``,
``btf_get_bytes`` and friends read the BTF objects the kernel holds, as
``bpftool btf show`` / ``bpftool btf dump id`` do; ``flatten`` turns base+split
BTF into one standalone blob the kernel can load.
"""

from __future__ import annotations

from btfdedup.kernel.btf import (
    DEFAULT_LOG_SIZE,
    BtfInfo,
    btf_fd_bytes,
    btf_get_bytes,
    btf_get_fd_by_id,
    btf_info,
    btf_load,
    btf_load_verdict,
    iter_btf_ids,
    iter_btf_infos,
    pin,
)
from btfdedup.kernel.fd import BpfFd, BtfFd
from btfdedup.kernel.syscall import (
    BPF_F_TOKEN_FD,
    BPF_LOG_FIXED,
    BPF_LOG_LEVEL1,
    BPF_LOG_LEVEL2,
    BPF_LOG_STATS,
    BTF_MAX_SIZE,
)

__all__ = [
    "BPF_F_TOKEN_FD",
    "BPF_LOG_FIXED",
    "BPF_LOG_LEVEL1",
    "BPF_LOG_LEVEL2",
    "BPF_LOG_STATS",
    "BTF_MAX_SIZE",
    "DEFAULT_LOG_SIZE",
    "BpfFd",
    "BtfFd",
    "BtfInfo",
    "btf_fd_bytes",
    "btf_get_bytes",
    "btf_get_fd_by_id",
    "btf_info",
    "btf_load",
    "btf_load_verdict",
    "iter_btf_ids",
    "iter_btf_infos",
    "pin",
]
