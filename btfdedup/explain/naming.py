"""How reports name types: bpftool's ``KIND 'name'`` and C declarators.

:func:`kind_name` is the head of a ``bpftool btf dump ... format raw`` line without
its ID and attributes (``STRUCT 'sk_buff'``, ``PTR '(anon)'`` shortened to ``PTR``),
:func:`c_name` the type as a C declaration writes it (``const char *``,
``struct net_device *``, ``int (*)(struct sk_buff *)``), for member and parameter
types.  Both decode a few types with :class:`~btfdedup.model.view.TypeView`: they
name the types of a report, never a whole BTF.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from btfdedup.format.constants import Kind

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf

#: C keywords of the kinds C names with one.
_C_TAG = {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ENUM: "enum", Kind.ENUM64: "enum"}


def kind_name(btf: Btf, type_id: int) -> str:
    """``STRUCT 'sk_buff'``, ``FWD 'bpf_prog'``, ``PTR`` (anonymous reference kinds show
    no name), ``STRUCT '(anon)'``, ``void``.  Reads the kind, name and kind_flag
    columns only (it names every entry of a diff: no view is decoded)."""
    if type_id == 0:
        return "void"
    owner, i = btf.owner_of(type_id)
    kind = Kind(int(owner.kind[i]))
    name = btf.strings.text(int(owner.name_off[i]))
    if kind == Kind.FWD:
        return f"FWD '{name}'" + (" (union)" if owner.kind_flag[i] else "")
    if name:
        return f"{kind.name} '{name}'"
    if kind in (Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64):
        return f"{kind.name} '(anon)'"
    return kind.name


def with_id(btf: Btf, type_id: int) -> str:
    """:func:`kind_name` preceded by the type ID as bpftool prints it: ``[4521] STRUCT 'x'``."""
    return f"[{type_id}] {kind_name(btf, type_id)}"


def c_name(btf: Btf, type_id: int, _depth: int = 0) -> str:
    """The C spelling of ``type_id`` as a member or parameter type."""
    return _decl(btf, type_id, "", _depth).strip()


def _decl(btf: Btf, type_id: int, inner: str, depth: int) -> str:
    """C declarator of ``type_id`` around ``inner`` (what is declared so far)."""
    if depth > 12:
        return f"... {inner}"
    if type_id == 0:
        return f"void {inner}".rstrip()
    t = btf[type_id]
    k = t.kind
    if k == Kind.PTR:
        target = btf[t.type] if t.type else None
        wrap = f"(*{inner})" if target is not None and target.kind in (Kind.FUNC_PROTO, Kind.ARRAY) else f"*{inner}"
        return _decl(btf, t.type or 0, wrap, depth + 1)
    if k in (Kind.CONST, Kind.VOLATILE, Kind.RESTRICT):
        word = {Kind.CONST: "const", Kind.VOLATILE: "volatile", Kind.RESTRICT: "restrict"}[k]
        target = btf[t.type] if t.type else None
        if target is not None and target.kind == Kind.PTR:
            return _decl(btf, t.type or 0, f"{word} {inner}".strip(), depth + 1)
        return f"{word} {_decl(btf, t.type or 0, inner, depth + 1)}"
    if k == Kind.TYPE_TAG:
        return _decl(btf, t.type or 0, f"__attribute__((btf_type_tag(\"{t.name}\"))) {inner}".strip(), depth + 1)
    if k == Kind.ARRAY:
        assert t.array is not None
        return _decl(btf, t.array.type, f"{inner}[{t.array.nelems}]", depth + 1)
    if k == Kind.FUNC_PROTO:
        params = ", ".join(
            "..." if (p.type == 0 and not p.name) else c_name(btf, p.type, depth + 1) for p in t.params
        ) or "void"
        return _decl(btf, t.type or 0, f"{inner}({params})", depth + 1)
    if k == Kind.FWD:
        head = f"{'union' if t.kind_flag else 'struct'} {t.name}"
    elif k in _C_TAG:
        head = f"{_C_TAG[k]} {t.name}" if t.name else f"{_C_TAG[k]} {{...}}"
    elif k == Kind.FUNC:
        return _decl(btf, t.type or 0, t.name, depth + 1)
    else:
        head = t.name or k.name
    return f"{head} {inner}".rstrip()
