"""Whole-file decompression of compressed kernel modules (.ko.xz/.ko.zst/.ko.gz)."""

from __future__ import annotations

import gzip
import lzma
import zlib

from btfdedup.errors import BtfFormatError

XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"

#: Decompressed inputs larger than this are refused (a decompression bomb guard).
MAX_DECOMPRESSED = 4 * 1024 * 1024 * 1024


def maybe_decompress(data: bytes, source: str) -> bytes:
    """``data`` decompressed if it starts with an xz, zstd or gzip magic, else as is."""
    try:
        if data.startswith(XZ_MAGIC):
            d = lzma.LZMADecompressor()
            out = d.decompress(data, max_length=MAX_DECOMPRESSED)
            if not d.eof:
                raise BtfFormatError("xz stream is truncated or larger than the size limit", source=source)
            return out
        if data.startswith(GZIP_MAGIC):
            dz = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = dz.decompress(data, MAX_DECOMPRESSED)
            if not dz.eof:
                raise BtfFormatError("gzip stream is truncated or larger than the size limit", source=source)
            return out
        if data.startswith(ZSTD_MAGIC):
            import zstandard

            dctx = zstandard.ZstdDecompressor()
            with dctx.stream_reader(data) as r:
                out = r.read(MAX_DECOMPRESSED + 1)
            if len(out) > MAX_DECOMPRESSED:
                raise BtfFormatError("zstd stream is larger than the size limit", source=source)
            return out
    except (lzma.LZMAError, zlib.error, EOFError, gzip.BadGzipFile) as e:
        raise BtfFormatError(f"corrupt compressed input: {e}", source=source) from None
    except Exception as e:  # zstandard.ZstdError has no stable import path
        if type(e).__name__ == "ZstdError":
            raise BtfFormatError(f"corrupt zstd input: {e}", source=source) from None
        raise
    return data
