"""Whole-file decompression of compressed inputs (.ko.xz/.ko.zst/.ko.gz, .btf.xz, ...).

Distributions compress kernel modules as whole files (kmod's ``.ko.xz``,
``.ko.zst``, ``.ko.gz``); the ELF inside is ordinary.  Detection is by magic,
not by file name.  As with the ``xz``/``zstd``/``gzip`` tools, concatenated
streams decompress to the concatenation of their contents; zero padding
after the last xz or gzip stream is allowed (xz stream padding; gzip only
warns), after zstd it is not (zstd rejects it); other trailing bytes are an error.
"""

from __future__ import annotations

import lzma
import zlib

from btfdedup.errors import BtfFormatError

XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"

#: Decompressed inputs larger than this are refused (a decompression bomb guard).
MAX_DECOMPRESSED = 4 * 1024 * 1024 * 1024

#: Compressed bytes given to the zstd decoder per call.  A zstd block of at most
#: a few bytes can stand for 128 KiB of output, so this bounds one call's output
#: (and the memory a bomb can claim beyond the limit) to a few hundred MiB.
_ZSTD_SLICE = 16 * 1024


def compression_of(data: bytes) -> str | None:
    """``'xz'``, ``'zstd'``, ``'gzip'`` or None, from the leading magic."""
    if data.startswith(XZ_MAGIC):
        return "xz"
    if data.startswith(ZSTD_MAGIC):
        return "zstd"
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    return None


def maybe_decompress(data: bytes, source: str) -> bytes:
    """``data`` decompressed if it starts with an xz, zstd or gzip magic, else as is."""
    kind = compression_of(data)
    if kind is None:
        return data
    try:
        if kind == "zstd":
            return _zstd(data, source)
        return _streams(data, kind, source)
    except (lzma.LZMAError, zlib.error, EOFError) as e:
        raise BtfFormatError(f"corrupt {kind} input: {e}", source=source) from None


def _streams(data: bytes, kind: str, source: str) -> bytes:
    """Decompress consecutive xz or gzip streams."""
    magic = XZ_MAGIC if kind == "xz" else GZIP_MAGIC
    out: list[bytes] = []
    total = 0
    rest = data
    while rest:
        if not rest.startswith(magic):
            if not rest.strip(b"\0") and (kind == "gzip" or len(rest) % 4 == 0):
                break  # stream padding (xz: a multiple of 4 bytes)
            raise BtfFormatError(
                f"{len(rest)} bytes of trailing garbage after the {kind} stream",
                source=source,
                offset=len(data) - len(rest),
            )
        d: lzma.LZMADecompressor | zlib._Decompress
        d = lzma.LZMADecompressor() if kind == "xz" else zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = d.decompress(rest, MAX_DECOMPRESSED - total + 1)
        total += len(chunk)
        if total > MAX_DECOMPRESSED:
            raise BtfFormatError(f"{kind} input decompresses to more than {MAX_DECOMPRESSED} bytes", source=source)
        if not d.eof:
            raise BtfFormatError(f"{kind} stream is truncated", source=source, offset=len(data))
        out.append(chunk)
        rest = d.unused_data
    return b"".join(out)


def _zstd(data: bytes, source: str) -> bytes:
    """Decompress consecutive zstd frames, refusing truncated ones (which
    ``stream_reader`` would silently cut short)."""
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    out: list[bytes] = []
    total = 0
    rest = data
    try:
        while rest:
            if not rest.startswith(ZSTD_MAGIC):
                raise BtfFormatError(
                    f"{len(rest)} bytes of trailing garbage after the zstd stream",
                    source=source,
                    offset=len(data) - len(rest),
                )
            declared = zstandard.frame_content_size(rest)
            if declared > MAX_DECOMPRESSED - total:
                raise BtfFormatError(f"zstd input decompresses to more than {MAX_DECOMPRESSED} bytes", source=source)
            dobj = dctx.decompressobj()
            # Feed the frame in small slices so that a frame without a declared
            # size (streamed compression) cannot expand past the limit in one call.
            pos = 0
            while not dobj.eof and pos < len(rest):
                chunk = dobj.decompress(rest[pos : pos + _ZSTD_SLICE])
                pos += _ZSTD_SLICE
                total += len(chunk)
                if total > MAX_DECOMPRESSED:
                    raise BtfFormatError(
                        f"zstd input decompresses to more than {MAX_DECOMPRESSED} bytes", source=source
                    )
                out.append(chunk)
            if not dobj.eof:
                raise BtfFormatError("zstd stream is truncated", source=source, offset=len(data))
            rest = dobj.unused_data + rest[pos:]
    except zstandard.ZstdError as e:
        raise BtfFormatError(f"corrupt zstd input: {e}", source=source) from None
    return b"".join(out)
