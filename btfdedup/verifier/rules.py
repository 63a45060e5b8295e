"""Kernel-version rule sets: where BTF verifiers of different Linux releases disagree.

Each field of :class:`RuleSet` is one rule that changed over time; the comment
names the release that introduced it.  Releases were checked against the
v6.18 ``kernel/bpf/btf.c`` and the running 6.18 kernel; for the older
boundaries the version is the first release whose btf.c carries the rule
(marked *approx.* where it was read from history rather than probed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from btfdedup.errors import BtfUsageError
from btfdedup.format.constants import Kind

DEFAULT_VERSION = (6, 18)


@dataclass(frozen=True)
class RuleSet:
    """What one kernel release accepts."""

    version: tuple[int, int]
    #: Highest kind number known.  FLOAT 5.13, DECL_TAG 5.16 (5.15 called it TAG), TYPE_TAG 5.17, ENUM64 5.19.
    kind_max: int
    #: ``BTF_INFO_MASK``: bits of ``info`` that may be set.  0x9f00ffff (16-bit vlen, 5-bit kind) in every
    #: release through 6.18 and later; the 2026 UAPI widening (24-bit vlen, 7-bit kind) is in no kernel yet.
    info_mask: int
    #: ``vlen`` width the kernel reads (follows info_mask).
    vlen_mask: int
    #: ``BTF_INFO_KIND`` width: 5 bits (0x1f) in every release through 6.18.
    kind_mask: int
    #: TYPE_TAG may carry kind_flag (attribute tags): 6.14.
    type_tag_kflag: bool
    #: DECL_TAG may carry kind_flag (attribute tags): 6.14.
    decl_tag_kflag: bool
    #: '.' allowed in identifiers of every kind (not only sections/vars): 6.8 (approx.).
    dots_in_identifiers: bool
    #: DATASEC names may be any printable characters: 6.8 (approx.); before, identifiers with dots.
    datasec_printable: bool
    #: ``KSYM_NAME_LEN`` bounding every name: 512 since 6.1, 128 before.
    ksym_name_len: int
    #: Size of ``struct btf_header`` the kernel knows; bytes past it must be zero.  24 in every release
    #: through 6.18: no released kernel knows the layout section, so a non-zero layout_off/len is rejected.
    known_hdr_len: int
    #: Header ``flags`` the kernel accepts (none through 6.18).
    allowed_flags: int


def rules_for(version: tuple[int, int] | None = None) -> RuleSet:
    """The rule set of Linux ``version`` (major, minor); default: the running kernel's, else 6.18."""
    v = version or running_kernel_version() or DEFAULT_VERSION
    if v < (4, 18):
        raise BtfUsageError(f"kernel {v[0]}.{v[1]} predates BTF loading (BPF_BTF_LOAD appeared in 4.18)")
    if v >= (5, 19):
        kind_max = int(Kind.ENUM64)
    elif v >= (5, 17):
        kind_max = int(Kind.TYPE_TAG)
    elif v >= (5, 15):
        kind_max = int(Kind.DECL_TAG)
    elif v >= (5, 13):
        kind_max = int(Kind.FLOAT)
    elif v >= (5, 2):
        kind_max = int(Kind.DATASEC)  # VAR and DATASEC: 5.2
    elif v >= (4, 20):
        kind_max = int(Kind.FUNC_PROTO)  # FUNC and FUNC_PROTO: 4.20
    else:
        kind_max = int(Kind.RESTRICT)  # 4.18/4.19: the original eleven kinds
    return RuleSet(
        version=v,
        kind_max=kind_max,
        info_mask=0x9F00FFFF,
        vlen_mask=0xFFFF,
        kind_mask=0x1F,
        type_tag_kflag=v >= (6, 14),
        decl_tag_kflag=v >= (6, 14),
        dots_in_identifiers=v >= (6, 8),
        datasec_printable=v >= (6, 8),
        ksym_name_len=512 if v >= (6, 1) else 128,
        known_hdr_len=24,
        allowed_flags=0,
    )


def parse_version(text: str) -> tuple[int, int]:
    """``"6.18"`` / ``"6.18.44-foo"`` -> (6, 18)."""
    m = re.match(r"^\s*(\d+)\.(\d+)", text)
    if not m:
        raise BtfUsageError(f"bad kernel version {text!r}: expected X.Y (for example 6.18)")
    return int(m.group(1)), int(m.group(2))


def running_kernel_version() -> tuple[int, int] | None:
    """Version of the kernel we run on, or None when not on Linux."""
    try:
        uname = os.uname()
    except AttributeError:
        return None
    if uname.sysname != "Linux":
        return None
    try:
        return parse_version(uname.release)
    except BtfUsageError:
        return None
