"""The compiled code's kind numbers (``btfdedup/format/kinds.pxd``) agree with :class:`Kind`.

Kind numbers live once for Python (``format/constants.py``) and once for C
(``format/kinds.pxd``, which Cython needs at compile time); this test is what keeps the
two one fact.  It reads the ``.pxd`` as text, so it needs no build.
"""

from __future__ import annotations

import re
from pathlib import Path

import btfdedup.format.constants as constants
from btfdedup.format.constants import Kind

PXD = Path(constants.__file__).with_name("kinds.pxd")


def _pxd_constants() -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in re.findall(r"^\s+(K_[A-Z0-9_]+|VLEN_MASK|KIND_SHIFT|KIND_MASK)\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*$",
                                  PXD.read_text(), re.M):
        out[name] = int(value, 0)
    return out


def test_every_kind_has_the_same_number() -> None:
    pxd = _pxd_constants()
    for kind in Kind:
        assert pxd[f"K_{kind.name}"] == int(kind), kind
    named = {k: v for k, v in pxd.items() if k.startswith("K_") and k not in ("K_VOID", "K_MAX")}
    assert named == {f"K_{k.name}": int(k) for k in Kind}
    assert pxd["K_MAX"] == constants.BTF_KIND_MAX


def test_info_layout_matches() -> None:
    pxd = _pxd_constants()
    assert pxd["VLEN_MASK"] == constants.VLEN_MASK
    assert pxd["KIND_SHIFT"] == constants.KIND_SHIFT
    assert pxd["KIND_MASK"] == constants.KIND_MASK


def test_modifier_predicate_matches_python() -> None:
    """``is_modifier`` in the .pxd names exactly the kinds of ``MODIFIER_KINDS``."""
    body = re.search(r"cdef inline bint is_modifier\(int k\).*?return (.*?)\n", PXD.read_text(), re.S)
    assert body is not None
    named = set(re.findall(r"K_([A-Z_]+)", body.group(1)))
    assert {Kind[n] for n in named} == set(constants.MODIFIER_KINDS)
