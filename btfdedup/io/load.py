"""``load()``: one entry point for every input format.

Accepted inputs: raw BTF blobs (``/sys/kernel/btf/*``, ``pahole
--btf_encode_detached`` output, ``bpftool btf dump ... format raw`` sources),
ELF files (BPF ``.o``, kernel ``.ko``, vmlinux), and either of them compressed
whole-file with xz, zstd or gzip (``.ko.xz``/``.ko.zst``/``.ko.gz``, ``.btf.xz``).
The path ``-`` reads standard input (name a file called ``-`` as ``./-``).
Raw blobs are recognised by the BTF magic, ELF by ``\\x7fELF``; the rest is an
error.  ``/sys/kernel/btf/<module>`` gets the running kernel's vmlinux BTF as
base automatically, as bpftool does.

Split BTF (a module's ``.BTF``) only makes sense on its base; libbpf is told
by its caller which is which.  Without a base we detect it: a base BTF's
string section must start with the NUL of the empty name (libbpf and the
kernel require that), while split BTF written by libbpf/pahole starts its own
strings right after the base's, with no leading NUL, or has no strings at all.
So "string section empty or not starting with NUL" identifies split input,
and is reported as a usage error naming ``--base``, not as corrupt data.  A
split blob that happens to start with NUL then fails on its first reference
past its own types or strings; that error gains the same hint.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from btfdedup.errors import BtfFormatError, BtfUsageError, MissingBaseError
from btfdedup.format.constants import BTF_MAGIC_BYTES
from btfdedup.format.header import decode_header
from btfdedup.io.raw import parse_raw
from btfdedup.model.btf import Btf

if TYPE_CHECKING:
    from btfdedup.model.ext import BtfExt

#: Refuse to read inputs larger than this into memory.
MAX_INPUT_SIZE = 4 * 1024 * 1024 * 1024

SPLIT_HINT = "split BTF (.ko module): pass --base vmlinux"


#: How every verb and the loader word a path that does not exist (the strerror of
#: ENOENT, as the directory expansion of :mod:`btfdedup.workflows.inputs` says it).
NO_SUCH_FILE = "no such file or directory"

#: The path that means standard input (``btfdedup dump - < file``).
STDIN_PATH = "-"


def read_file(path: str) -> bytes:
    """Read ``path`` whole (``-`` is standard input), with a clear error for
    missing, unreadable or oversized files.  Pipes and character devices have
    no size to check up front, so the read itself stops one byte past the limit
    (as it does for a regular file that grows while it is read)."""
    try:
        if path == STDIN_PATH:
            data = sys.stdin.buffer.read(MAX_INPUT_SIZE + 1)
        else:
            size = os.path.getsize(path)
            if size > MAX_INPUT_SIZE:
                raise BtfFormatError(f"file is {size} bytes, larger than the {MAX_INPUT_SIZE}-byte limit", source=path)
            with open(path, "rb") as f:
                # Read at the size the file has (one byte more shows that it grew):
                # asking for the limit reserves that much memory for every read, 4 GiB
                # per module of a batch.  Devices and pipes say 0 and read to the limit.
                data = f.read(size + 1) if size else b""
                if not size or len(data) > size:
                    data += f.read(MAX_INPUT_SIZE + 1 - len(data))
        if len(data) > MAX_INPUT_SIZE:
            raise BtfFormatError(f"input is larger than the {MAX_INPUT_SIZE}-byte limit", source=path)
        return data
    except FileNotFoundError:
        raise BtfUsageError(f"{path}: {NO_SUCH_FILE}") from None
    except IsADirectoryError:
        raise BtfUsageError(f"{path}: is a directory") from None
    except PermissionError:
        raise BtfUsageError(f"{path}: permission denied") from None
    except OSError as e:
        raise BtfUsageError(f"{path}: cannot read: {e.strerror}") from None


def looks_split(data: bytes) -> bool:
    """True when the raw blob ``data`` cannot be base BTF but is plausible split BTF:
    its header is readable and its string section is empty or does not start
    with NUL.  (False for anything whose header is unreadable.)"""
    # Only a header that passes every header rule can vouch for "split": a header
    # that lies (hdr_len, offsets) must be reported as the format error it is.
    try:
        hdr = decode_header(data)
    except BtfFormatError:
        return False
    s0 = hdr.hdr_len + hdr.str_off
    return hdr.str_len == 0 or data[s0] != 0


_REFERENCE_RULES = ("is outside the string section", "refers to type ID")


def parse_blob(data: bytes, base: Btf | None = None, source: str | None = None, *, module: bool = False) -> Btf:
    """:func:`parse_raw`, turning "this is split BTF and no base was given" into
    a :class:`MissingBaseError` (both a format and a usage error) that says to pass ``--base`` (see the module doc).
    ``module`` marks data from a relocatable ELF (a ``.ko``)."""
    if base is None and looks_split(data):
        where = f"{source}: " if source else ""
        raise MissingBaseError(
            f"{where}{SPLIT_HINT} (its string section does not start with the empty name, "
            "so its types and strings continue a base BTF)"
        )
    try:
        return parse_raw(data, base=base, source=source)
    except BtfFormatError as e:
        if base is None and module and any(r in e.rule for r in _REFERENCE_RULES):
            raise MissingBaseError(f"{e} — this looks like {SPLIT_HINT}") from None
        raise


def load_ext(path: str, btf: Btf) -> BtfExt:
    """The ``.BTF.ext`` in ``path`` for ``btf``: a raw section as ``dedup --ext``
    writes it (``OUT.ext``), possibly compressed, or the ``.BTF.ext`` of an ELF
    object.  Its byte order must be ``btf``'s; libbpf's ``btf_ext__new`` rules apply."""
    from btfdedup.errors import ElfError
    from btfdedup.io.compressed import maybe_decompress
    from btfdedup.model.ext import parse_ext

    data = maybe_decompress(read_file(path), path)
    if data[:4] == b"\x7fELF":
        from btfdedup.io.elf import BTF_EXT_SECTION, find_btf_sections

        sec = find_btf_sections(data, path).btf_ext
        if sec is None:
            raise ElfError(f"no {BTF_EXT_SECTION} section", source=path)
        return parse_ext(sec.data, byteorder=btf.byteorder, source=f"{path} [{BTF_EXT_SECTION}]")
    return parse_ext(data, byteorder=btf.byteorder, source=path)


def load(src: str | os.PathLike[str] | bytes | bytearray | memoryview, base: Btf | str | None = None) -> Btf:
    """Load BTF from a path or bytes.  ``base`` (a :class:`Btf` or a path) makes
    the input split BTF on it.  Bytes may be raw BTF, ELF, or compressed.

    >>> import btfdedup
    >>> base = btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz")
    >>> veth = btfdedup.load("corpora/modules/veth.btf", base=base)
    >>> len(base), veth.start_id, len(veth)
    (95246, 95247, 95)
    >>> veth[95247]                                    # the module's first own type
    TypeView(id=95247, kind=CONST, name='', type=62482)
    >>> veth[62482]                                    # base IDs resolve through the base
    TypeView(id=62482, kind=STRUCT, name='modversion_info', size=64, vlen=2)
    """
    base_btf = load(base) if isinstance(base, (str, os.PathLike)) else base
    from btfdedup.io import compressed

    if isinstance(src, (bytes, bytearray, memoryview)):
        path = "<bytes>"
        data = compressed.maybe_decompress(bytes(src), path)
    else:
        path = os.fspath(src)
        if base_btf is None:
            from btfdedup.io import sysfs

            base_btf = sysfs.auto_base(path)
        data = read_input(path)
    return load_data(data, path, base_btf)


def read_input(path: str) -> bytes:
    """The contents of ``path`` (``-`` is standard input) as :func:`load` parses them:
    read whole (:func:`read_file`) and decompressed when compressed."""
    from btfdedup.io.compressed import maybe_decompress

    return maybe_decompress(read_file(path), path)


def load_data(data: bytes, source: str, base: Btf | None = None) -> Btf:
    """Parse the (decompressed) contents ``data`` of the input ``source``, split on
    ``base`` when given: raw BTF, or the ``.BTF`` of an ELF.  This is :func:`load`
    once the file is read; a caller that tries one input two ways (standalone, then
    on a base) reads and decompresses it once."""
    if data[:2] in BTF_MAGIC_BYTES:
        return parse_blob(data, base=base, source=source)
    if data[:4] == b"\x7fELF":
        from btfdedup.io import elf

        return elf.load_elf(data, base=base, source=source)
    raise BtfFormatError(
        "neither raw BTF (magic 9f eb / eb 9f) nor an ELF object (\\x7fELF), nor xz/zstd/gzip compressed",
        source=source,
        offset=0,
    )


def raw_btf_of(data: bytes, path: str, base: Btf | None) -> tuple[bytes, Btf | None] | None:
    """The raw BTF bytes the file contents ``data`` hold and the base they sit on
    (``base``, the running vmlinux for ``/sys/kernel/btf/<module>``, an ELF's
    ``.BTF.base``), or None when they hold none: what :func:`load` would parse,
    unparsed, for reporting why the BTF itself is refused."""
    from btfdedup.io.compressed import maybe_decompress
    from btfdedup.io.elf import BTF_BASE_SECTION, find_btf_sections
    from btfdedup.io.sysfs import auto_base

    data = maybe_decompress(data, path)
    if data[:2] in BTF_MAGIC_BYTES:
        return data, base if base is not None else auto_base(path)
    if data[:4] != b"\x7fELF":
        return None
    secs = find_btf_sections(data, path)
    if secs.btf is None:
        return None
    if base is None and secs.btf_base is not None:
        base = parse_blob(secs.btf_base.data, base=None, source=f"{path} [{BTF_BASE_SECTION}]")
    return bytes(secs.btf.data), base
