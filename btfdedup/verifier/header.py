"""Header and section tiling, as ``btf_parse_hdr``/``btf_check_sec_info``/``btf_parse_str_sec`` check them.

Works on the raw bytes: the kernel reads the header in its own (little) byte
order, copies at most the header it knows, requires unknown header bytes to be
zero, and requires the type and string sections to tile the data after the
header exactly, strings last.
"""

from __future__ import annotations

import errno as errno_mod
import struct
from dataclasses import dataclass, field

from btfdedup.format.constants import BTF_MAGIC, BTF_MAX_NAME_OFFSET, BTF_VERSION, KERNEL_BTF_MAX_SIZE
from btfdedup.verifier.problem import ENOTSUPP, Problem
from btfdedup.verifier.rules import RuleSet

_U32 = 0xFFFFFFFF


@dataclass
class Sections:
    """Where the kernel finds each section, and whether the rest of the checks can run."""

    hdr_len: int = 0
    type_off: int = 0  # absolute byte offset in the blob
    type_len: int = 0
    str_off: int = 0
    str_len: int = 0
    type_off_rel: int = 0
    #: Both sections lie inside the blob, so types and strings can be checked.
    usable: bool = False
    problems: list[Problem] = field(default_factory=list)


def _p(reason: str, err: int = errno_mod.EINVAL, *, logged: bool = True, context: str | None = None) -> Problem:
    return Problem(reason=reason, errno=err, phase="header", logged=logged, context=context)


def check_header(data: bytes, rules: RuleSet, *, split: bool, trailing_len: int = 0, gap_len: int = 0) -> Sections:
    """Every header/tiling problem in kernel order; stops only where later checks have nothing to read.

    ``trailing_len``/``gap_len`` are bytes the blob had after its last section and
    between sections when it was read into a :class:`~btfdedup.model.btf.Btf`
    (whose serialized ``data`` no longer holds them): the kernel would have seen
    them, so they count in the tiling check as they would have in the file.
    """
    out = Sections()
    probs = out.problems
    dropped = trailing_len + gap_len
    size = len(data) + dropped
    if size > KERNEL_BTF_MAX_SIZE:
        probs.append(
            _p(
                f"BTF size {size} exceeds the kernel's BTF_MAX_SIZE ({KERNEL_BTF_MAX_SIZE})",
                errno_mod.E2BIG,
                logged=False,
            )
        )
    if size < 8:
        probs.append(_p("hdr_len not found"))
        return out
    (hdr_len,) = struct.unpack_from("<I", data, 4)
    big_endian = (
        "big-endian BTF: the kernel reads the header in its own byte order" if data[:2] == b"\xeb\x9f" else None
    )
    if size < hdr_len:
        probs.append(_p("btf_header not found", context=big_endian))
        return out
    known = rules.known_hdr_len
    if hdr_len > known and any(data[known:hdr_len]):
        probs.append(_p("Unsupported btf_header", errno_mod.E2BIG))
    # The kernel copies min(hdr_len, known) bytes into a zeroed header.
    head = data[: min(hdr_len, known)].ljust(24, b"\0")
    magic, version, flags, _hl, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", head, 0)
    if magic != BTF_MAGIC:
        probs.append(_p("Invalid magic", context=big_endian))
        return out
    if version != BTF_VERSION:
        probs.append(_p("Unsupported version", ENOTSUPP))
    if flags & ~rules.allowed_flags:
        probs.append(_p("Unsupported flags", ENOTSUPP))
    if not split and size == hdr_len:
        probs.append(_p("No data"))
        return out
    tiling = _check_sec_info(size, hdr_len, [(type_off, type_len), (str_off, str_len)])
    if tiling:
        probs.append(
            _p(tiling, context=_unclaimed_context(size, hdr_len, type_off, type_len, str_off, str_len, dropped))
        )
    size = len(data)
    data_len = size - hdr_len
    out.hdr_len = hdr_len
    out.type_off_rel = type_off
    out.type_off, out.type_len = hdr_len + type_off, type_len
    out.str_off, out.str_len = hdr_len + str_off, str_len
    out.usable = type_off + type_len <= data_len and str_off + str_len <= data_len
    if not out.usable:
        return out
    # btf_parse_str_sec
    strs = data[out.str_off : out.str_off + str_len]
    if out.str_off + str_len != size:
        probs.append(_p("String section is not at the end"))
    elif not (split and str_len == 0):
        if str_len == 0 or str_len - 1 > BTF_MAX_NAME_OFFSET or strs[-1] != 0:
            probs.append(_p("Invalid string section"))
        elif not split and strs[0] != 0:
            probs.append(_p("Invalid string section", context="does not start with NUL: split BTF? pass its base"))
    # btf_parse_type_sec preamble
    if type_off & 3:
        probs.append(_p("Unaligned type_off"))
    if not split and type_len == 0:
        probs.append(_p("No type found"))
    return out


def _unclaimed_context(
    size: int, hdr_len: int, type_off: int, type_len: int, str_off: int, str_len: int, dropped: int
) -> str | None:
    """Where the bytes no section covers are, when that is what the tiling check
    refused ("Unsupported section found"); None for overlaps and overruns."""
    from btfdedup.io.raw import describe_unclaimed

    data_len = size - hdr_len
    spans = [(off, length) for off, length in ((type_off, type_len), (str_off, str_len)) if length]
    end = max((off + length for off, length in spans), default=0)
    covered = sum(length for _off, length in spans)
    if end > data_len or covered > end:
        return None
    text = describe_unclaimed(data_len - end, end - covered)
    if text is None or not dropped:
        return text
    return text + "; the reader dropped them, writing the object back gives the blob without them"


def _sec_cmp(a: tuple[int, int], b: tuple[int, int]) -> int:
    """``btf_sec_info_cmp``: (int)(a.off - b.off), then (int)(a.len - b.len), in 32-bit arithmetic."""

    def s32(x: int) -> int:
        x &= _U32
        return x - (1 << 32) if x & 0x80000000 else x

    return s32(a[0] - b[0]) or s32(a[1] - b[1])


def _check_sec_info(size: int, hdr_len: int, secs: list[tuple[int, int]]) -> str | None:
    if _sec_cmp(secs[0], secs[1]) > 0:
        secs = [secs[1], secs[0]]
    expected_total = (size - hdr_len) & _U32
    total = 0
    for off, length in secs:
        if expected_total < off:
            return "Invalid section offset"
        if total < off:
            return "Unsupported section found"
        if total > off:
            return "Section overlap found"
        if expected_total - total < length:
            return "Total section length too long"
        total += length
    if expected_total != total:
        return "Unsupported section found"
    return None
