"""``struct btf_header`` decode/encode in either byte order.

The header is 24 bytes classically and 32 bytes when the 2026 layout fields are
present.  A longer header is accepted only when the extra bytes are zero, which is
what libbpf requires before it will modify (and so dedup) a BTF object.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from btfdedup.errors import BtfFormatError
from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC, BTF_HDR_LEN_LAYOUT, BTF_MAGIC, BTF_VERSION

#: Refuse headers longer than this: no real producer writes more than 32 bytes.
MAX_HDR_LEN = 4096


@dataclass(frozen=True)
class BtfHeader:
    """Decoded header fields.  Offsets are relative to the end of the header."""

    byteorder: str  # "<" little endian, ">" big endian
    version: int
    flags: int
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int
    layout_off: int = 0
    layout_len: int = 0

    @property
    def has_layout_fields(self) -> bool:
        """Whether the header is long enough to carry layout_off/layout_len."""
        return self.hdr_len >= BTF_HDR_LEN_LAYOUT

    def encode(self) -> bytes:
        """The header bytes as libbpf writes them: known fields, zero padded to hdr_len."""
        bo = self.byteorder
        out = struct.pack(
            bo + "HBBIIIII",
            BTF_MAGIC,
            self.version,
            self.flags,
            self.hdr_len,
            self.type_off,
            self.type_len,
            self.str_off,
            self.str_len,
        )
        if self.hdr_len >= BTF_HDR_LEN_LAYOUT:
            out += struct.pack(bo + "II", self.layout_off, self.layout_len)
        return out.ljust(self.hdr_len, b"\0")[: self.hdr_len]


def detect_byteorder(data: bytes | memoryview, source: str | None = None) -> str:
    """Byte order of a BTF blob, from its magic."""
    if len(data) < 2:
        raise BtfFormatError("file too short for the BTF magic (need 2 bytes)", source=source, offset=0)
    b0, b1 = data[0], data[1]
    if (b0, b1) == (0x9F, 0xEB):
        return "<"
    if (b0, b1) == (0xEB, 0x9F):
        return ">"
    raise BtfFormatError(
        f"bad magic {b0:02x} {b1:02x}: expected 9f eb (little endian) or eb 9f (big endian)",
        source=source,
        offset=0,
    )


def decode_header(data: bytes | memoryview, source: str | None = None) -> BtfHeader:
    """Decode and bounds-check the header; sections are checked against ``len(data)``."""
    bo = detect_byteorder(data, source)
    size = len(data)
    if size < BTF_HDR_LEN_CLASSIC:
        raise BtfFormatError(
            f"truncated header: {size} bytes, the BTF header needs at least {BTF_HDR_LEN_CLASSIC}",
            source=source,
            offset=size,
        )
    _magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        bo + "HBBIIIII", data, 0
    )
    if version != BTF_VERSION:
        raise BtfFormatError(f"unsupported BTF version {version} (only {BTF_VERSION} exists)", source=source, offset=2)
    if flags != 0:
        raise BtfFormatError(f"header flags must be 0, found {flags:#x}", source=source, offset=3)
    if hdr_len < BTF_HDR_LEN_CLASSIC:
        raise BtfFormatError(
            f"hdr_len {hdr_len} is smaller than the {BTF_HDR_LEN_CLASSIC}-byte BTF header", source=source, offset=4
        )
    if hdr_len > MAX_HDR_LEN or hdr_len > size:
        raise BtfFormatError(
            f"hdr_len {hdr_len} runs past the end of the {size}-byte blob"
            if hdr_len <= MAX_HDR_LEN
            else f"hdr_len {hdr_len} is implausibly large (limit {MAX_HDR_LEN})",
            source=source,
            offset=4,
        )
    layout_off = layout_len = 0
    if hdr_len >= BTF_HDR_LEN_LAYOUT:
        layout_off, layout_len = struct.unpack_from(bo + "II", data, 24)
    # Bytes past the known fields (past 32, or 24..hdr_len when the header is too
    # short to hold both layout fields) must be zero: they would be lost on output.
    known_end = BTF_HDR_LEN_LAYOUT if hdr_len >= BTF_HDR_LEN_LAYOUT else BTF_HDR_LEN_CLASSIC
    extra = bytes(data[known_end:hdr_len])
    if extra.strip(b"\0"):
        first = known_end + next(i for i, b in enumerate(extra) if b)
        raise BtfFormatError(
            f"header bytes {known_end}..{hdr_len} are not zero (byte {first} is {data[first]:#04x}): "
            "unknown header fields",
            source=source,
            offset=first,
        )
    hdr = BtfHeader(bo, version, flags, hdr_len, type_off, type_len, str_off, str_len, layout_off, layout_len)
    _check_sections(hdr, size, source)
    return hdr


def _check_sections(hdr: BtfHeader, size: int, source: str | None) -> None:
    data_len = size - hdr.hdr_len
    # (name, off, len, byte offset of the header's *_off field; *_len is 4 after it)
    sections = [("type", hdr.type_off, hdr.type_len, 8), ("string", hdr.str_off, hdr.str_len, 16)]
    if hdr.layout_len or hdr.layout_off:
        sections.append(("layout", hdr.layout_off, hdr.layout_len, 24))
    for name, off, length, field in sections:
        if off > data_len or length > data_len - off:
            raise BtfFormatError(
                f"{name} section [{off}, {off + length}) runs past the end of the data "
                f"({data_len} bytes after the {hdr.hdr_len}-byte header)",
                source=source,
                offset=field if off > data_len else field + 4,
            )
    if hdr.type_off % 4:
        raise BtfFormatError(f"type section offset {hdr.type_off} is not 4-byte aligned", source=source, offset=8)
    if hdr.type_len % 4:
        raise BtfFormatError(f"type section length {hdr.type_len} is not a multiple of 4", source=source, offset=12)
    if hdr.layout_len:
        if hdr.layout_off % 4 or hdr.layout_len % 4:
            raise BtfFormatError(
                f"layout section (off {hdr.layout_off}, len {hdr.layout_len}) must be 4-byte aligned and sized",
                source=source,
                offset=24,
            )
    # libbpf: the type section must end at or before the string section starts.
    if hdr.type_off + hdr.type_len > hdr.str_off:
        raise BtfFormatError(
            f"type section [{hdr.type_off}, {hdr.type_off + hdr.type_len}) must end at or before the string "
            f"section's start (str_off {hdr.str_off})",
            source=source,
            offset=16,
        )
    # No overlap between sections.
    spans = sorted((off, off + length, name, field) for name, off, length, field in sections if length)
    for (a0, a1, an, _af), (b0, b1, bn, bf) in zip(spans, spans[1:], strict=False):
        if b0 < a1:
            raise BtfFormatError(
                f"{an} section [{a0}, {a1}) overlaps the {bn} section [{b0}, {b1})", source=source, offset=bf
            )
