"""The running kernel's verdict on the BTF ``link_objects`` writes (BPF_BTF_LOAD).

Every ordered pair of the committed little-endian BPF objects that the static
linker accepts is linked, and its ``.BTF`` is loaded into the running kernel.  The
linker's BTF is meant for libbpf's object open, not for the kernel directly, in
one respect only: an extern kfunc stays a FUNC with *extern* linkage (the open
rewrites it to global), which the kernel refuses.  So a linked BTF without extern
FUNCs must load, and one with them must be refused for exactly that FUNC.
``link_objects`` is byte-identical to libbpf 1.1.2's linker on these pairs
(``tests/test_bpfobj_link.py``), so the verdicts are those of libbpf's bytes too.

Skips only when the kernel refuses ``bpf(2)`` itself (no privilege), saying why.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from btfdedup.bpfobj.link import LinkError, link_objects
from btfdedup.format.constants import Kind
from tests._kernel_probe import kernel_verdict, probe_skip_reason

REPO = Path(__file__).resolve().parents[1]
OBJECTS = sorted(str(p) for p in (REPO / "corpora" / "bpf").glob("*.o") if "bpfeb" not in p.name) + sorted(
    str(p) for p in (REPO / "corpora" / "bpf-objects").glob("*.o")
)
#: FUNC linkage (the vlen bits of a FUNC) of an extern function
FUNC_EXTERN = 2

pytestmark = pytest.mark.kernel


def test_linked_pairs_load_in_kernel() -> None:
    reason = probe_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    loaded = refused_for_kfunc = 0
    for a, b in itertools.permutations(OBJECTS, 2):
        try:
            result = link_objects([a, b])
        except LinkError:
            continue  # the linker refuses this pair (judged in test_bpfobj_link.py)
        btf = result.btf
        extern_funcs = {t.id for t in btf if t.kind == Kind.FUNC and int(btf.vlen[btf.index_of(t.id)]) == FUNC_EXTERN}
        ok, err, log = kernel_verdict(result.btf_bytes())
        what = f"{Path(a).name} + {Path(b).name}"
        if not extern_funcs:
            assert ok, f"{what}: the kernel refuses the linked BTF (errno {err}): {log.strip().splitlines()[-1:]}"
            loaded += 1
            continue
        assert not ok, f"{what}: the kernel accepted extern FUNCs {sorted(extern_funcs)}"
        last = log.strip().splitlines()[-1]
        m = re.match(r"\[(\d+)\] FUNC .*Invalid func linkage", last)
        assert m is not None and int(m.group(1)) == min(extern_funcs), f"{what}: refused for another reason: {last}"
        refused_for_kfunc += 1
    assert loaded > 100, f"only {loaded} linked pairs loaded"
    assert refused_for_kfunc > 0
