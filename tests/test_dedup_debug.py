"""``dedup(..., debug=True)``: every phase's invariant holds on real inputs, and a broken
one is reported with the phase, the type ID and the invariant.

Judge: the same libbpf v1.6 outputs as tests/test_dedup_oracle.py (committed in
``tests/expected/dedup_v16.json``, live where the pylibbpf oracle is installed), so the
checking mode is shown not to change a byte; the corpus case compares with the
reference shipped with the big corpora.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import numpy as np
import pytest

from btfdedup.append import merge, merge_modules
from btfdedup.engine import dedup
from btfdedup.engine.pipeline import _CHECKS
from btfdedup.engine.state import UNPROCESSED_ID, DedupState
from btfdedup.errors import DedupError
from btfdedup.io.raw import parse_raw
from tests.conftest import FIXTURES
from tests.expected import DEDUP_V16, rel

CUS = sorted((FIXTURES / "cus").glob("*.btf"))
MODULES = sorted(p for p in (FIXTURES / "modules").glob("*.btf") if ".distilled" not in p.name)


def test_debug_cus_parsed() -> None:
    """The CUs merged into one blob and parsed again: the strings phase runs and is checked."""
    datas = [p.read_bytes() for p in CUS]
    merged = merge([parse_raw(d) for d in datas]).to_bytes()
    out = dedup(parse_raw(merged), debug=True).btf.to_bytes()
    DEDUP_V16.check("corpora/cus/*.btf::add_btf,parse,dedup", out,
                    lambda lib: lib.dedup_bytes(lib.merge_bytes(datas)), inputs=datas)


def test_debug_modules_split_on_base() -> None:
    """Every committed module merged onto the 6.1 base, one split dedup (prep runs on 95k
    base types), and each module alone on the base."""
    base_b = lzma.decompress((FIXTURES / "modules" / "vmlinux-6.1.btf.xz").read_bytes())
    base = parse_raw(base_b)
    datas = [p.read_bytes() for p in MODULES]
    m = merge_modules([parse_raw(d, base=base) for d in datas], base)
    DEDUP_V16.check("corpora/modules/*.btf::module recipe,dedup on vmlinux-6.1", dedup(m, debug=True).btf.to_bytes(),
                    lambda lib: lib.merge_modules_dedup_bytes(datas, base_b), inputs=[*datas, base_b])
    for path, data in zip(MODULES, datas, strict=True):
        out = dedup(parse_raw(data, base=base), debug=True).btf.to_bytes()
        DEDUP_V16.check(f"{rel(path)}::dedup on vmlinux-6.1", out,
                        lambda lib, data=data: lib.dedup_bytes(data, base=base_b), inputs=[data, base_b])


def _fresh_state(path: Path) -> DedupState:
    btf = parse_raw(path.read_bytes())
    W = np.concatenate([np.zeros(3, dtype=np.uint32), btf.words])
    ts = np.concatenate([np.zeros(1, dtype=np.int64), btf.type_start + 3])
    kinds = np.concatenate([np.zeros(1, dtype=np.uint8), btf.kind])
    return DedupState(W, ts, kinds, 1)


@pytest.mark.parametrize(("phase", "invariant"), [
    ("primitives", "split INT/ENUM/ENUM64/FWD/FLOAT is not mapped"),
    ("composites", "split STRUCT/UNION is not mapped"),
    ("references", "split type is not mapped"),
])
def test_debug_reports_phase_type_and_invariant(phase: str, invariant: str) -> None:
    """A state where no phase ran violates every "mapped" invariant at its first such type."""
    d = _fresh_state(CUS[0])
    first = {
        "primitives": (1, 6, 19, 7, 16),
        "composites": (4, 5),
        "references": None,
    }[phase]
    k = d.kinds_arr
    unmapped = d.mp_arr == UNPROCESSED_ID
    want = int(np.flatnonzero(unmapped & (np.isin(k, first) if first else True))[0])
    with pytest.raises(DedupError, match=rf"^debug check after {phase}: type \[{want}\]: {invariant}$"):
        _CHECKS[phase](d)


def test_debug_reports_wrong_prep() -> None:
    """A split state whose base IDs were never made self-canonical."""
    base = parse_raw(lzma.decompress((FIXTURES / "modules" / "vmlinux-6.1.btf.xz").read_bytes()))
    mod = parse_raw(MODULES[0].read_bytes(), base=base)
    W = np.concatenate([np.zeros(3, dtype=np.uint32), base.words, mod.words])
    ts = np.concatenate([np.zeros(1, dtype=np.int64), base.type_start[:-1] + 3,
                         mod.type_start + 3 + len(base.words)])
    kinds = np.concatenate([np.zeros(1, dtype=np.uint8), base.kind, mod.kind])
    d = DedupState(W, ts, kinds, base.type_cnt)
    with pytest.raises(DedupError, match=r"^debug check after prep: type \[1\]: base type is not self-canonical$"):
        _CHECKS["prep"](d)


@pytest.mark.corpus
def test_debug_vmlinux_raw(corpora_dir: Path) -> None:
    """The raw 3.4 M-type vmlinux with every invariant checked, against libbpf's bytes."""
    raw = lzma.decompress((corpora_dir / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz").read_bytes())
    ref = (corpora_dir / "vmlinux-6.1-raw" / "vmlinux-dedup.libbpf.btf").read_bytes()
    assert dedup(parse_raw(raw), debug=True).btf.to_bytes() == ref
