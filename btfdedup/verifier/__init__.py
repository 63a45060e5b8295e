"""Offline BTF validation with the kernel's rules: ``validate(blob) -> ProblemList`` (a sequence of Problem).

Reproduces what ``BPF_BTF_LOAD`` (``btf_parse`` in kernel/bpf/btf.c) checks, in
the kernel's order and words: header and section tiling (:mod:`.header`), the
string section, the record walk (:mod:`.walk`) and per-record ``check_meta``
(:mod:`.meta`, compiled in :mod:`.meta_checks`), the resolution DFS with
member/array/DATASEC/DECL_TAG/FUNC_PROTO checks (:mod:`.resolve`), the type-tag
chain rule (:mod:`.tags`) and the special fields of structs (:mod:`.fields`).
With a ``base`` the blob is checked as split (module) BTF the way
``btf_parse_module`` does: header, strings, metas and type tags, no resolution pass.

The kernel stops at its first error; :func:`validate` reports every problem it
can still locate, and the first one is the kernel's (same verdict, same reason).
The compiled passes return their findings as columns, kept as such in a
:class:`ProblemList` until a caller reads a row (:mod:`.problem`).
Rules that changed across kernel releases come from :mod:`.rules`.
"""

from __future__ import annotations

import errno as errno_mod
import weakref
from pathlib import Path

import numpy as np

from btfdedup.errors import BtfError
from btfdedup.format import constants
from btfdedup.format.constants import BTF_MAX_TYPE
from btfdedup.model.btf import Btf
from btfdedup.verifier import fields as _fields
from btfdedup.verifier import meta_checks as _meta_checks
from btfdedup.verifier import resolve as _resolve
from btfdedup.verifier import tags as _tags
from btfdedup.verifier.header import check_header
from btfdedup.verifier.meta import MetaContext
from btfdedup.verifier.problem import CTX_ENTRY, CTX_MEMBER, Located, Problem, ProblemList, Rule
from btfdedup.verifier.rules import RuleSet, parse_version, rules_for
from btfdedup.verifier.strings import NameTable, SplitNames
from btfdedup.verifier.walk import WALK_OK

__all__ = ["Problem", "ProblemList", "RuleSet", "parse_version", "rules_for", "validate", "is_valid"]

#: Phases of the type rows (1-based phase numbers of :class:`ProblemList`) and how their codes read.
PH_META, PH_RESOLVE, PH_TAGS = 1, 2, 3
PHASES: tuple[tuple[str, dict[int, Rule]], ...] = (
    ("meta", {code: Rule(text, err) for code, (text, err) in _meta_checks.META_REASONS.items()}),
    (
        "resolve",
        {
            code: Rule(text.replace("{}", "{0}"), _resolve.errno_of(code), code != _resolve.R_INTERNAL)
            for code, text in _resolve.REASONS.items()
        },
    ),
    (
        "type_tags",
        {code: Rule(text, err, code != _tags.TAGS_MISSING) for code, (text, err) in _tags.TAG_REASONS.items()},
    ),
)


def _blob_of(obj: Btf | bytes | bytearray | memoryview | str | Path) -> bytes:
    if isinstance(obj, Btf):
        return obj.to_bytes()
    if isinstance(obj, (str, Path)):
        return Path(obj).read_bytes()
    return bytes(obj)


_BASE_CACHE: weakref.WeakKeyDictionary[Btf, dict[RuleSet, tuple[NameTable, np.ndarray, np.ndarray]]] = (
    weakref.WeakKeyDictionary()
)


def _base_cache(base: Btf, rules: RuleSet) -> tuple[NameTable, np.ndarray, np.ndarray]:
    """Name table and (kind, size_or_type) columns of a base, computed once per base and rule set."""
    per = _BASE_CACHE.setdefault(base, {})
    if rules not in per:
        kinds, refs = _base_columns(base)
        per[rules] = (NameTable(base.all_strings(), rules), kinds, refs)
    return per[rules]


def _base_columns(base: Btf) -> tuple[np.ndarray, np.ndarray]:
    """(kind, size_or_type) of IDs 0..type_cnt-1 over the base chain."""
    kinds = [np.zeros(1, dtype=np.uint8)]
    refs = [np.zeros(1, dtype=np.uint32)]
    for lvl in base.chain():
        kinds.append(lvl.kind.astype(np.uint8))
        refs.append(lvl.size_type.astype(np.uint32))
    return np.concatenate(kinds), np.concatenate(refs)


def validate(
    btf_or_bytes: Btf | bytes | bytearray | memoryview | str | Path,
    *,
    base: Btf | bytes | str | Path | None = None,
    kernel_version: tuple[int, int] | str | None = None,
    stop_at_first: bool = False,
) -> ProblemList:
    """Every problem the kernel's BTF verifier would report for this blob (empty list: accepted).

    ``btf_or_bytes`` is raw BTF (bytes or a path) or a :class:`Btf` (checked as
    its serialized bytes, plus the bytes outside any section that the reader
    dropped from the file it came from: the kernel refuses those, "Unsupported
    section found").  ``base`` makes it split BTF on that base, as module
    BTF is loaded.  ``kernel_version`` picks the rule set (default: the running
    kernel, 6.18 off Linux).  ``stop_at_first`` stops like the kernel does.

    The result is a :class:`ProblemList`: it reads like a list of :class:`Problem`
    (indexing, slicing, iteration, ``== []``), and builds each Problem only when
    it is read, so millions of problems cost columns, not objects.

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
                out = ProblemList()
                out.add_objects([Problem(reason=f"base BTF is unreadable: {e}", phase="base", errno=errno_mod.EINVAL)])
                return out
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
        self.problems = ProblemList(PHASES)
        self.stop_at_first = stop_at_first
        split = base is not None
        sec = check_header(data, rules, split=split, trailing_len=dropped[0], gap_len=dropped[1])
        self.problems.add_objects(sec.problems)
        if self._stop() or not sec.usable:
            return
        view = memoryview(data)
        own_names = NameTable(bytes(view[sec.str_off : sec.str_off + sec.str_len]), rules)
        names: NameTable | SplitNames = own_names
        if base is not None:
            names = SplitNames(_base_cache(base, rules)[0], own_names)
        start_id = base.type_cnt if base is not None else 1
        ctx = MetaContext(view[sec.type_off : sec.type_off + sec.type_len], names, rules, start_id)
        self.ctx = ctx
        self.located = Located(start_id, ctx.nt, ctx.kind, ctx.name_off, names.text, names.size)
        self.problems.locate(self.located)
        rows = ctx.check()
        over = BTF_MAX_TYPE - start_id
        if ctx.nt > over >= 0:
            rows.insert(over, _meta_checks.META_MAX_TYPES)
        self.problems.add_rows(
            PH_META,
            code=rows.code,
            local=rows.local,
            arg=rows.arg,
            arg2=rows.arg2,
            ctx_kind=rows.ctx_kind,
            ctx_a=rows.ctx_a,
            ctx_b=rows.ctx_b,
        )
        del rows
        if self._stop() or ctx.stop != WALK_OK:
            return
        if base is None:
            self._resolve(ctx)
            if self._stop():
                return
            kind_g, ref_g = ctx.kind_g, ctx.size_type_g
        else:
            _names, bk, br = _base_cache(base, rules)
            kind_g = np.concatenate([bk, ctx.kind])
            ref_g = np.concatenate([br, ctx.size_type])
        tids, codes = _tags.type_tag_chains(kind_g, ref_g, start_id, stop_at_first)
        self.problems.add_rows(PH_TAGS, code=codes, local=tids - start_id)
        if self._stop() or base is not None:
            return
        self.problems.add_objects(
            [
                self._object_problem(local, reason, err, "struct_metas")
                for local, reason, err in _fields.check_struct_metas(ctx)
            ]
        )
        self._stop()

    def _stop(self) -> bool:
        """Drop repeated rows; True when validation should stop (stop_at_first and something was found)."""
        self.problems.dedup()
        if self.stop_at_first and len(self.problems):
            self.problems.truncate(1)
            return True
        return False

    def _object_problem(self, local: int, reason: str, err: int, phase: str) -> Problem:
        """A type problem with free-form words (special fields), located like the coded rows."""
        ctx = self.ctx
        kind, name = self.located.kind_and_name(local)
        return Problem(
            reason=reason,
            type_id=ctx.start_id + local,
            kind=kind,
            name=name,
            errno=err,
            phase=phase,
            logged=False,
        )

    def _resolve(self, ctx: MetaContext) -> None:
        n = ctx.nt + 1
        tstart_g = np.zeros(n, dtype=np.int64)
        tstart_g[1:] = ctx.start
        bad_param_g = np.full(n, -1, dtype=np.int32)
        bad_param_g[1:] = ctx.bad_param
        lid, code, extra = _resolve.resolve_all(
            ctx.kind_g,
            ctx.info_g,
            ctx.size_type_g,
            ctx.words,
            tstart_g,
            bad_param_g,
            constants.KIND_FIXED_TAIL_WORDS,
            constants.KIND_VLEN_WORDS,
            self.stop_at_first,
        )
        del tstart_g, bad_param_g
        local = lid - 1
        member = np.isin(code, np.fromiter(_resolve.MEMBER_REASONS, dtype=np.int64)) & (extra >= 0)
        entry = np.isin(code, np.fromiter(_resolve.ENTRY_REASONS, dtype=np.int64)) & (extra >= 0)
        ck = np.zeros(len(code), dtype=np.uint8)
        ck[member] = CTX_MEMBER
        ck[entry] = CTX_ENTRY
        ca = np.where(member | entry, extra, 0)
        cb = np.zeros(len(code), dtype=np.int64)
        if member.any():
            cb[member] = ctx.words[ctx.start[local[member]] + 3 + 3 * extra[member]]
        # A type that fails inside another's DFS fails again as a root of its own: same row.
        self.problems.add_rows(
            PH_RESOLVE, may_repeat=True, code=code, local=local, arg=extra, ctx_kind=ck, ctx_a=ca, ctx_b=cb
        )
