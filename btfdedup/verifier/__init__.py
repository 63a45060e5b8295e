"""Offline BTF validation with the kernel's rules: ``validate(blob) -> [Problem]``.

Reproduces what ``BPF_BTF_LOAD`` (``btf_parse`` in kernel/bpf/btf.c) checks, in
the kernel's order and words: header and section tiling (:mod:`.header`), the
string section, per-record ``check_meta`` (:mod:`.meta` and the per-kind
modules), the resolution DFS with member/array/DATASEC/DECL_TAG/FUNC_PROTO
checks (:mod:`.resolve`) and the type-tag chain rule (:mod:`.tags`).  With a
``base`` the blob is checked as split (module) BTF the way ``btf_parse_module``
does: header, strings, metas and type tags, no resolution pass.

The kernel stops at its first error; :func:`validate` reports every problem it
can still locate, and the first one is the kernel's (same verdict, same reason).
Rules that changed across kernel releases come from :mod:`.rules`.
"""

from __future__ import annotations

import errno as errno_mod
import weakref
from pathlib import Path

import numpy as np

from btfdedup.errors import BtfError
from btfdedup.format.constants import BTF_MAX_NAME_OFFSET, BTF_MAX_TYPE, KIND_NAMES, Kind
from btfdedup.model.btf import Btf
from btfdedup.verifier import array as _array
from btfdedup.verifier import composite as _composite
from btfdedup.verifier import datasec as _datasec
from btfdedup.verifier import enum as _enum
from btfdedup.verifier import fields as _fields
from btfdedup.verifier import func as _func
from btfdedup.verifier import ref as _ref
from btfdedup.verifier import scalar as _scalar
from btfdedup.verifier import tags as _tags
from btfdedup.verifier.header import check_header
from btfdedup.verifier.meta import Finding, KindCheck, MetaContext, check_all_metas
from btfdedup.verifier.problem import Problem
from btfdedup.verifier.resolve import ENTRY_REASONS, MEMBER_REASONS, R_ARG, R_INTERNAL, REASONS, resolve_all
from btfdedup.verifier.rules import RuleSet, parse_version, rules_for
from btfdedup.verifier.strings import NameTable, SplitNames
from btfdedup.verifier.walk import WALK_OK

__all__ = ["Problem", "RuleSet", "parse_version", "rules_for", "validate", "is_valid"]

KIND_CHECKS: dict[int, KindCheck] = {
    Kind.INT: _scalar.check_int,
    Kind.PTR: _ref.check_ref,
    Kind.ARRAY: _array.check_array,
    Kind.STRUCT: _composite.check_struct,
    Kind.UNION: _composite.check_struct,
    Kind.ENUM: _enum.check_enum,
    Kind.FWD: _ref.check_fwd,
    Kind.TYPEDEF: _ref.check_ref,
    Kind.VOLATILE: _ref.check_ref,
    Kind.CONST: _ref.check_ref,
    Kind.RESTRICT: _ref.check_ref,
    Kind.FUNC: _func.check_func,
    Kind.FUNC_PROTO: _func.check_func_proto,
    Kind.VAR: _datasec.check_var,
    Kind.DATASEC: _datasec.check_datasec,
    Kind.FLOAT: _scalar.check_float,
    Kind.DECL_TAG: _tags.check_decl_tag,
    Kind.TYPE_TAG: _ref.check_ref,
    Kind.ENUM64: _enum.check_enum,
}


def _blob_of(obj: Btf | bytes | bytearray | memoryview | str | Path) -> bytes:
    if isinstance(obj, Btf):
        return obj.to_bytes()
    if isinstance(obj, (str, Path)):
        return Path(obj).read_bytes()
    return bytes(obj)


def _base_strings(base: Btf) -> bytes:
    chain = []
    b: Btf | None = base
    while b is not None:
        chain.append(b.strings.data)
        b = b.base
    return b"".join(reversed(chain))


_BASE_CACHE: weakref.WeakKeyDictionary[Btf, dict[RuleSet, tuple[NameTable, np.ndarray, np.ndarray]]] = (
    weakref.WeakKeyDictionary()
)


def _base_cache(base: Btf, rules: RuleSet) -> tuple[NameTable, np.ndarray, np.ndarray]:
    """Name table and (kind, size_or_type) columns of a base, computed once per base and rule set."""
    per = _BASE_CACHE.setdefault(base, {})
    if rules not in per:
        kinds, refs = _base_columns(base)
        per[rules] = (NameTable(_base_strings(base), rules), kinds, refs)
    return per[rules]


def _base_columns(base: Btf) -> tuple[np.ndarray, np.ndarray]:
    """(kind, size_or_type) of IDs 0..type_cnt-1 over the base chain."""
    levels = []
    b: Btf | None = base
    while b is not None:
        levels.append(b)
        b = b.base
    kinds = [np.zeros(1, dtype=np.int64)]
    refs = [np.zeros(1, dtype=np.int64)]
    for lvl in reversed(levels):
        kinds.append(lvl.kind.astype(np.int64))
        refs.append(lvl.size_type.astype(np.int64))
    return np.concatenate(kinds), np.concatenate(refs)


def validate(
    btf_or_bytes: Btf | bytes | bytearray | memoryview | str | Path,
    *,
    base: Btf | bytes | str | Path | None = None,
    kernel_version: tuple[int, int] | str | None = None,
    stop_at_first: bool = False,
) -> list[Problem]:
    """Every problem the kernel's BTF verifier would report for this blob (empty list: accepted).

    ``btf_or_bytes`` is raw BTF (bytes or a path) or a :class:`Btf` (checked as
    its serialized bytes, plus the bytes outside any section that the reader
    dropped from the file it came from: the kernel refuses those, "Unsupported
    section found").  ``base`` makes it split BTF on that base, as module
    BTF is loaded.  ``kernel_version`` picks the rule set (default: the running
    kernel, 6.18 off Linux).  ``stop_at_first`` stops like the kernel does.

    >>> import btfdedup
    >>> base = btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz")
    >>> btfdedup.validate("corpora/modules/veth.btf", base=base)
    []
    >>> [p.reason for p in btfdedup.validate(btfdedup.load("corpora/bpf/fwd_owner.bpf.o"))][:1]
    ['size == 0']
    """
    rules = rules_for(parse_version(kernel_version) if isinstance(kernel_version, str) else kernel_version)
    data = _blob_of(btf_or_bytes)
    if base is None and isinstance(btf_or_bytes, Btf) and btf_or_bytes.base is not None:
        base = btf_or_bytes.base
    base_btf: Btf | None = None
    if base is not None:
        if isinstance(base, Btf):
            base_btf = base
        else:
            # A path may be compressed or an ELF file: the loader reads every form.
            from btfdedup.io.load import load

            try:
                base_btf = load(str(base) if isinstance(base, Path) else base)
            except BtfError as e:
                return [Problem(reason=f"base BTF is unreadable: {e}", phase="base", errno=errno_mod.EINVAL)]
    dropped = (btf_or_bytes.trailing_len, btf_or_bytes.gap_len) if isinstance(btf_or_bytes, Btf) else (0, 0)
    return _Run(data, base_btf, rules, stop_at_first, dropped).problems


def is_valid(
    btf_or_bytes: Btf | bytes, *, base: Btf | None = None, kernel_version: tuple[int, int] | None = None
) -> bool:
    """Whether the kernel would accept the blob."""
    return not validate(btf_or_bytes, base=base, kernel_version=kernel_version, stop_at_first=True)


class _Run:
    """One validation: runs the phases in kernel order and collects problems."""

    def __init__(
        self, data: bytes, base: Btf | None, rules: RuleSet, stop_at_first: bool, dropped: tuple[int, int] = (0, 0)
    ) -> None:
        self.problems: list[Problem] = []
        self.stop_at_first = stop_at_first
        split = base is not None
        sec = check_header(data, rules, split=split, trailing_len=dropped[0], gap_len=dropped[1])
        if self._add(sec.problems) or not sec.usable:
            return
        own_strings = data[sec.str_off : sec.str_off + sec.str_len]
        own_names = NameTable(own_strings, rules)
        names: NameTable | SplitNames = own_names
        if base is not None:
            names = SplitNames(_base_cache(base, rules)[0], own_names)
        start_id = base.type_cnt if base is not None else 1
        ctx = MetaContext(data[sec.type_off : sec.type_off + sec.type_len], names, rules, start_id)
        self.ctx = ctx
        findings = check_all_metas(ctx, KIND_CHECKS)
        over = BTF_MAX_TYPE - start_id
        if ctx.nt > over >= 0:
            findings.append(Finding(over, "Exceeded max num of types", errno_mod.E2BIG))
            findings.sort(key=lambda f: f.local)
        if self._add([self._meta_problem(f) for f in findings]):
            return
        if ctx.stop != WALK_OK:
            return
        if base is None:
            if self._add(self._resolve(ctx)):
                return
            kind_g = np.concatenate([[0], ctx.kind]).astype(np.int64)
            ref_g = np.concatenate([[0], ctx.size_type]).astype(np.int64)
        else:
            _names, bk, br = _base_cache(base, rules)
            kind_g = np.concatenate([bk, ctx.kind]).astype(np.int64)
            ref_g = np.concatenate([br, ctx.size_type]).astype(np.int64)
        rows = _tags.type_tag_chains(kind_g, ref_g, start_id, stop_at_first)
        probs = []
        for tid, code in rows:
            reason, err = _tags.TAG_REASONS[int(code)]
            local = int(tid) - start_id
            probs.append(self._problem(local, reason, err, "type_tags", None, logged=int(code) != _tags.TAGS_MISSING))
        if self._add(probs) or base is not None:
            return
        self._add(
            [
                self._problem(local, reason, err, "struct_metas", None, logged=False)
                for local, reason, err in _fields.check_struct_metas(ctx)
            ]
        )

    def _add(self, probs: list[Problem]) -> bool:
        """Append; True when validation should stop (stop_at_first and something was found)."""
        seen = {(p.type_id, p.reason, p.context) for p in self.problems}
        for p in probs:
            key = (p.type_id, p.reason, p.context)
            if key not in seen:
                seen.add(key)
                self.problems.append(p)
        if self.stop_at_first and self.problems:
            del self.problems[1:]
            return True
        return False

    def _problem(
        self, local: int, reason: str, err: int, phase: str, context: str | None, *, logged: bool = True
    ) -> Problem:
        ctx = self.ctx
        tid = ctx.start_id + local
        if local >= ctx.nt:
            return Problem(reason=reason, type_id=tid, errno=err, phase=phase, context=context, logged=logged)
        k = int(ctx.kind[local])
        kind = KIND_NAMES.get(k, f"KIND{k}") if 0 < k <= 19 else f"KIND{k}"
        name = None
        off = int(ctx.name_off[local])
        if off and off <= BTF_MAX_NAME_OFFSET and off < ctx.names.size:
            name = ctx.names.text(off)
        return Problem(
            reason=reason, type_id=tid, kind=kind, name=name, errno=err, phase=phase, context=context, logged=logged
        )

    def _meta_problem(self, f: Finding) -> Problem:
        return self._problem(f.local, f.reason, f.errno, "meta", f.context)

    def _resolve(self, ctx: MetaContext) -> list[Problem]:
        n = ctx.nt + 1
        kind_g = np.zeros(n, dtype=np.int64)
        kind_g[1:] = ctx.kind
        info_g = np.zeros(n, dtype=np.int64)
        info_g[1:] = ctx.info
        st_g = np.zeros(n, dtype=np.int64)
        st_g[1:] = ctx.size_type
        tstart_g = np.zeros(n, dtype=np.int64)
        tstart_g[1:] = ctx.start
        pbad = np.zeros(len(ctx.words), dtype=np.uint8)
        fp = np.flatnonzero(ctx.kind == Kind.FUNC_PROTO)
        if len(fp):
            _owner, _ei, pos = ctx.elements(fp, 2)
            poff = ctx.words[pos].astype(np.int64)
            bad = (poff != 0) & (~ctx.names.valid_offset(poff) | ~ctx.names.identifier(poff))
            pbad[pos[bad]] = 1
        rows = resolve_all(kind_g, info_g, st_g, ctx.words, tstart_g, pbad, self.stop_at_first)
        out = []
        for lid, code, extra, err in rows:
            code = int(code)
            local = int(lid) - 1
            reason = REASONS[code].format(int(extra)) if code == R_ARG else REASONS[code]
            context = None
            if code in MEMBER_REASONS and extra >= 0:
                context = self._member_context(local, int(extra), 3, name_word=0)
            elif code in ENTRY_REASONS and extra >= 0:
                context = f"entry #{int(extra)}"
            out.append(self._problem(local, reason, int(err), "resolve", context, logged=code != R_INTERNAL))
        return out

    def _member_context(self, local: int, i: int, stride: int, name_word: int) -> str:
        ctx = self.ctx
        pos = int(ctx.start[local]) + 3 + stride * i + name_word
        off = int(ctx.words[pos])
        name = ctx.names.text(off) if off else None
        return f"member #{i} '{name}'" if name else f"member #{i}"
