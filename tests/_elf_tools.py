"""Test helpers around the external ELF tools (llvm-objcopy, GNU objcopy).

The reference for "the bytes of section X" is ``llvm-objcopy --dump-section``,
never our own ELF reader.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest


def tool_or_skip(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


def dump_section(obj: Path, section: str, tmp: Path) -> bytes | None:
    """Bytes of ``section`` as llvm-objcopy extracts them, or None if absent."""
    objcopy = tool_or_skip("llvm-objcopy")
    out = tmp / f"{obj.name}.{section.strip('.').replace('.', '_')}.bin"
    r = subprocess.run(
        [objcopy, f"--dump-section={section}={out}", str(obj), str(tmp / "objcopy-discard.o")],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        if "not found" in r.stderr:
            return None
        raise AssertionError(f"llvm-objcopy failed on {obj}: {r.stderr}")
    return out.read_bytes()


def objcopy(*args: str) -> None:
    """Run llvm-objcopy with ``args``; fail the test on error."""
    tool = tool_or_skip("llvm-objcopy")
    r = subprocess.run([tool, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"llvm-objcopy {' '.join(args)}: {r.stderr}")


def patch_section_header(
    data: bytes, name: str, *, sh_type: int | None = None, sh_offset: int | None = None, sh_size: int | None = None
) -> bytes:
    """``data`` with fields of section ``name``'s header replaced (64-bit ELF only).

    Section headers are located from the ELF header by hand (e_shoff,
    e_shentsize, e_shstrndx), independently of the code under test.
    """
    assert data[4] == 2, "64-bit ELF expected"
    bo = "<" if data[5] == 1 else ">"
    e_shoff = struct.unpack_from(bo + "Q", data, 0x28)[0]
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from(bo + "HHH", data, 0x3A)

    def shdr(i: int) -> tuple[int, ...]:
        return struct.unpack_from(bo + "IIQQQQIIQQ", data, e_shoff + i * e_shentsize)

    strtab_off = shdr(e_shstrndx)[4]
    out = bytearray(data)
    for i in range(e_shnum):
        h = shdr(i)
        n0 = strtab_off + h[0]
        if bytes(data[n0 : data.index(b"\0", n0)]).decode() != name:
            continue
        at = e_shoff + i * e_shentsize
        if sh_type is not None:
            struct.pack_into(bo + "I", out, at + 4, sh_type)
        if sh_offset is not None:
            struct.pack_into(bo + "Q", out, at + 24, sh_offset)
        if sh_size is not None:
            struct.pack_into(bo + "Q", out, at + 32, sh_size)
        return bytes(out)
    raise AssertionError(f"no section {name}")


def set_section_type(data: bytes, name: str, sh_type: int) -> bytes:
    """``data`` with section ``name``'s sh_type replaced."""
    return patch_section_header(data, name, sh_type=sh_type)
