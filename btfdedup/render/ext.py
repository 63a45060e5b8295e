"""``.BTF.ext`` as text: the func_info, line_info and CO-RE relocation records.

bpftool has no text form for a ``.BTF.ext`` section (``bpftool btf dump`` prints
only the types; line info appears only interleaved with a loaded program's
instructions), so ``btfdedup dump --ext FILE`` uses this format of its own.
Every name is resolved through the ``.BTF`` the section belongs to (the one
``dedup --ext`` wrote next to it, or the ELF object's own ``.BTF``)::

    .BTF.ext: 1384 bytes, little endian, hdr_len 32
    func_info: rec_size 8, 3 records in 2 sections
      section 'xdp' (sec_name_off 51): 2 records
        insn_off 0: [4] FUNC 'xdp_pass'
    line_info: rec_size 16, 12 records in 2 sections
      section 'xdp' (sec_name_off 51): 7 records
        insn_off 0: line 12 col 5 in 'prog.c': return XDP_PASS;
    core_relo: rec_size 16, 1 record in 1 section
      section 'kprobe/do_exit' (sec_name_off 88): 1 record
        insn_off 8: [12] STRUCT 'task_struct' access '0:15' FIELD_BYTE_OFFSET

* ``insn_off`` is the value stored in the record: in an ELF object, the byte
  offset of the instruction inside its program section (instruction index
  times 8).
* A line_info's ``line_col`` holds the line in its top 22 bits and the column
  in its low 10 bits, as in the UAPI's ``BPF_LINE_INFO_LINE_NUM``/``_COL``;
  the source text after the colon is the string at ``line_off`` (empty when 0).
* A CO-RE record ends with its kind, named after the UAPI's ``enum
  bpf_core_relo_kind`` without the ``BPF_CORE_`` prefix (a number when unknown).
* :func:`ext_to_json` gives the same records as a dict (``dump --json --ext``).
* An absent subsection prints ``func_info: none``.  A string offset or type ID
  the ``.BTF`` does not hold prints as ``<bad string offset N>`` or
  ``[N] <no such type>``, so a ``.BTF.ext`` paired with the wrong ``.BTF`` shows
  it instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from btfdedup.format.constants import KIND_NAMES
from btfdedup.model.btf import Btf
from btfdedup.model.ext import (
    CORE_RELO_ACCESS_STR_OFF,
    CORE_RELO_INSN_OFF,
    CORE_RELO_KIND,
    CORE_RELO_TYPE_ID,
    FUNC_INFO_INSN_OFF,
    FUNC_INFO_TYPE_ID,
    LINE_INFO_FILE_NAME_OFF,
    LINE_INFO_INSN_OFF,
    LINE_INFO_LINE_COL,
    LINE_INFO_LINE_OFF,
    BtfExt,
    ExtSubsection,
)

#: ``enum bpf_core_relo_kind`` (UAPI), by value, without the ``BPF_CORE_`` prefix.
CORE_RELO_KINDS = (
    "FIELD_BYTE_OFFSET",
    "FIELD_BYTE_SIZE",
    "FIELD_EXISTS",
    "FIELD_SIGNED",
    "FIELD_LSHIFT_U64",
    "FIELD_RSHIFT_U64",
    "TYPE_ID_LOCAL",
    "TYPE_ID_TARGET",
    "TYPE_EXISTS",
    "TYPE_SIZE",
    "ENUMVAL_EXISTS",
    "ENUMVAL_VALUE",
    "TYPE_MATCHES",
)

#: Bits of a line_info ``line_col`` that hold the column (the line is above them).
LINE_COL_COLUMN_BITS = 10


def _string(btf: Btf, off: int) -> str:
    try:
        return btf.strings.get(off).decode("utf-8", "backslashreplace")
    except (KeyError, IndexError, ValueError):
        return f"<bad string offset {off}>"


def _type_of(btf: Btf, type_id: int) -> tuple[str, str | None] | None:
    """``(kind, name or None)`` of a type anywhere in ``btf``'s base chain; None when absent."""
    if type_id == 0:
        return "void", None
    for b in btf.chain():
        if b.start_id <= type_id < b.type_cnt:
            i = type_id - b.start_id
            kind = KIND_NAMES.get(int(b.kind[i]), f"KIND_{int(b.kind[i])}")
            name_off = int(b.name_off[i])
            return kind, _string(b, name_off) if name_off else None
    return None


def _type_label(btf: Btf, type_id: int) -> str:
    """``[ID] KIND 'name'`` of a type anywhere in ``btf``'s base chain."""
    found = _type_of(btf, type_id)
    if found is None:
        return f"[{type_id}] <no such type>"
    kind, name = found
    if type_id == 0:
        return "[0] void"
    return f"[{type_id}] {kind} '{name}'" if name is not None else f"[{type_id}] {kind} (anon)"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _record_line(btf: Btf, sub: ExtSubsection, rec: list[int]) -> str:
    if sub.name == "func_info":
        return f"insn_off {rec[FUNC_INFO_INSN_OFF]}: {_type_label(btf, rec[FUNC_INFO_TYPE_ID])}"
    if sub.name == "line_info":
        line_col = rec[LINE_INFO_LINE_COL]
        line, col = line_col >> LINE_COL_COLUMN_BITS, line_col & ((1 << LINE_COL_COLUMN_BITS) - 1)
        src = _string(btf, rec[LINE_INFO_LINE_OFF]).strip() if rec[LINE_INFO_LINE_OFF] else ""
        return (
            f"insn_off {rec[LINE_INFO_INSN_OFF]}: line {line} col {col} in "
            f"'{_string(btf, rec[LINE_INFO_FILE_NAME_OFF])}': {src}"
        ).rstrip()
    kind = rec[CORE_RELO_KIND]
    kind_name = CORE_RELO_KINDS[kind] if kind < len(CORE_RELO_KINDS) else f"kind {kind}"
    return (
        f"insn_off {rec[CORE_RELO_INSN_OFF]}: {_type_label(btf, rec[CORE_RELO_TYPE_ID])} "
        f"access '{_string(btf, rec[CORE_RELO_ACCESS_STR_OFF])}' {kind_name}"
    )


def iter_ext_lines(btf: Btf, ext: BtfExt) -> Iterator[str]:
    """The lines (without newlines) of the text form described in the module docstring."""
    yield (
        f".BTF.ext: {len(ext):,} bytes, {'little' if ext.byteorder == '<' else 'big'} endian, hdr_len {ext.hdr_len}"
    )
    for sub in ext.subsections:
        if not sub.present:
            yield f"{sub.name}: none"
            continue
        yield (
            f"{sub.name}: rec_size {sub.rec_size}, {_plural(sub.nr_records, 'record')} in "
            f"{_plural(sub.nr_blocks, 'section')}"
        )
        first = sub.first.tolist()
        counts = sub.num_info.tolist()
        for b, name_off in enumerate(sub.sec_name_off.tolist()):
            yield f"  section '{_string(btf, name_off)}' (sec_name_off {name_off}): {_plural(counts[b], 'record')}"
            for rec in sub.records[first[b] : first[b] + counts[b]].tolist():
                yield "    " + _record_line(btf, sub, rec)


def format_ext(btf: Btf, ext: BtfExt) -> str:
    """The whole text form, newline-terminated."""
    return "".join(line + "\n" for line in iter_ext_lines(btf, ext))


def _record_json(btf: Btf, sub: ExtSubsection, rec: list[int]) -> dict[str, Any]:
    if sub.name == "line_info":
        line_col = rec[LINE_INFO_LINE_COL]
        return {
            "insn_off": rec[LINE_INFO_INSN_OFF],
            "file_name": _string(btf, rec[LINE_INFO_FILE_NAME_OFF]),
            "line": line_col >> LINE_COL_COLUMN_BITS,
            "col": line_col & ((1 << LINE_COL_COLUMN_BITS) - 1),
            "source": _string(btf, rec[LINE_INFO_LINE_OFF]) if rec[LINE_INFO_LINE_OFF] else "",
        }
    tid = rec[FUNC_INFO_TYPE_ID] if sub.name == "func_info" else rec[CORE_RELO_TYPE_ID]
    found = _type_of(btf, tid)
    out: dict[str, Any] = {
        "insn_off": rec[0],
        "type_id": tid,
        "kind": found[0] if found else None,
        "name": found[1] if found else None,
    }
    if sub.name == "core_relo":
        kind = rec[CORE_RELO_KIND]
        out["access_str"] = _string(btf, rec[CORE_RELO_ACCESS_STR_OFF])
        out["relo_kind"] = CORE_RELO_KINDS[kind] if kind < len(CORE_RELO_KINDS) else kind
    return out


def ext_to_json(btf: Btf, ext: BtfExt) -> dict[str, Any]:
    """The same records as a JSON-ready dict (``dump --json --ext``): per subsection
    ``None`` when absent, else ``rec_size`` and ``sections``, each with its ``name``,
    ``sec_name_off`` and ``records``; names are resolved as in the text form (a
    type ID the ``.BTF`` lacks has ``kind``/``name`` null), ``relo_kind`` is the
    enum name (a number when unknown)."""
    doc: dict[str, Any] = {
        "bytes": len(ext),
        "byteorder": "little" if ext.byteorder == "<" else "big",
        "hdr_len": ext.hdr_len,
    }
    for sub in ext.subsections:
        if not sub.present:
            doc[sub.name] = None
            continue
        first = sub.first.tolist()
        counts = sub.num_info.tolist()
        sections = []
        for b, name_off in enumerate(sub.sec_name_off.tolist()):
            recs = sub.records[first[b] : first[b] + counts[b]].tolist()
            sections.append(
                {
                    "name": _string(btf, name_off),
                    "sec_name_off": name_off,
                    "records": [_record_json(btf, sub, rec) for rec in recs],
                }
            )
        doc[sub.name] = {"rec_size": sub.rec_size, "sections": sections}
    return doc
