"""Kernel agreement: our verdict equals the running kernel's BPF_BTF_LOAD verdict on every mutated blob.

Valid blobs (synthetic ones built around every kind, the committed CU files,
the .BTF of the committed BPF objects, a few cases on the 6.18 vmlinux) are
broken one rule at a time by the mutation classes of ``_mutations``.  For every
blob we assert: accepted by us <=> accepted by the kernel; on rejection, the
same errno, and our first problem's reason ends the kernel log's last line
(the kernel's own words) whenever the kernel logs one.
"""

from __future__ import annotations

import lzma
import struct
from collections import defaultdict

import pytest

from btfdedup.io.elf import find_btf_sections
from btfdedup.verifier import validate
from tests._kernel_probe import kernel_verdict, probe_skip_reason
from tests._mutations import _special, byte_mutations, random_word_mutations, rich, synthetic_cases
from tests.conftest import FIXTURES

#: Per-kind byte mutations are applied to this many CU files (all 32 are checked unmutated).
MUTATED_CUS = 6


def _obj_btf(path: str) -> bytes:
    data = open(path, "rb").read()
    sec = find_btf_sections(data, path).btf
    assert sec is not None
    return bytes(sec.data)


def _fix_object_btf(blob: bytes) -> bytes:
    """What libbpf does before loading an object's BTF: DATASEC sizes from their entries, no extern linkage."""
    out = bytearray(blob)
    hdr_len, type_off, type_len = struct.unpack_from("<III", out, 4)
    t0, pos = hdr_len + type_off, 0
    while pos < type_len:
        _name, inf, _st = struct.unpack_from("<III", out, t0 + pos)
        kind, vlen = (inf >> 24) & 0x1F, inf & 0xFFFF
        if kind == 15:
            ends = [sum(struct.unpack_from("<II", out, t0 + pos + 16 + 12 * i)) for i in range(vlen)]
            struct.pack_into("<I", out, t0 + pos + 8, max(ends + [1]))
        tail = {1: 4, 3: 12, 14: 4, 17: 4}.get(kind, 0) + vlen * {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}.get(
            kind, 0
        )
        pos += 12 + tail
    return bytes(out)


def _cases() -> list[tuple[str, bytes]]:
    cases = synthetic_cases()
    cus = sorted((FIXTURES / "cus").glob("*.btf"))
    for i, p in enumerate(cus):
        blob = p.read_bytes()
        cases.append(("real_valid", blob))
        if i < MUTATED_CUS:
            cases.extend(byte_mutations(blob))
    host = FIXTURES / "host" / "enum64.btf"
    if host.exists():
        cases.append(("real_valid", host.read_bytes()))
        cases.extend(byte_mutations(host.read_bytes(), per_kind=2))
    for p in sorted((FIXTURES / "bpf").glob("*.o")) + sorted((FIXTURES / "bpf-objects").glob("*.o")):
        raw = _obj_btf(str(p))
        cases.append(("object_as_is", raw))  # DATASEC size 0 (and externs): the kernel rejects these
        if p.name.startswith("fwd_"):
            fixed = _fix_object_btf(raw)
            cases.append(("real_valid", fixed))
            cases.extend(byte_mutations(fixed))
    sources = [rich()[0].blob(), _special()] + [p.read_bytes() for p in cus[:2]]
    cases.extend(random_word_mutations(sources, 400, seed=20261201))
    vml = FIXTURES / "vmlinux-6.18.btf.xz"
    if vml.exists():
        big = lzma.decompress(vml.read_bytes())
        cases.append(("vmlinux", big))
        muts = list(byte_mutations(big))
        cases.extend(("vmlinux_" + name, blob) for name, blob in muts[::9][:6])
    return cases


CASES = _cases()
BY_CLASS: dict[str, list[bytes]] = defaultdict(list)
for _name, _blob in CASES:
    BY_CLASS[_name].append(_blob)


@pytest.fixture(scope="module")
def kernel() -> None:
    reason = probe_skip_reason()
    if reason:
        pytest.skip(f"no kernel oracle: {reason}")


def _disagreement(blob: bytes) -> str | None:
    accepted, err, log = kernel_verdict(blob)
    problems = validate(blob)
    if accepted != (not problems):
        first = str(problems[0]) if problems else "accepted"
        return f"kernel {'accepts' if accepted else f'rejects (errno {err})'}, we say: {first}; log: {log[-200:]!r}"
    if accepted:
        return None
    first = problems[0]
    if first.errno != err:
        return f"errno: kernel {err}, ours {first.errno} ({first})"
    lines = [ln.rstrip() for ln in log.split("\n") if ln.strip()]
    if first.logged and lines and not lines[-1].endswith(first.reason):
        return f"reason: kernel {lines[-1]!r}, ours {first.reason!r} ({first})"
    return None


@pytest.mark.parametrize("mutation_class", sorted(BY_CLASS))
def test_kernel_agrees(kernel: None, mutation_class: str) -> None:
    bad = []
    for i, blob in enumerate(BY_CLASS[mutation_class]):
        why = _disagreement(blob)
        if why:
            bad.append(f"#{i}: {why}")
    assert not bad, f"{mutation_class}: {len(bad)}/{len(BY_CLASS[mutation_class])} disagree:\n" + "\n".join(bad)


def test_suite_size() -> None:
    """The suite is as broad as promised: several hundred blobs over at least 40 mutation classes."""
    mutations = {
        k for k in BY_CLASS if k not in ("real_valid", "valid_rich", "vmlinux", "object_as_is", "random_words")
    }
    print(f"kernel-agreement suite: {len(CASES)} blobs, {len(mutations)} mutation classes")
    assert len(mutations) >= 40
    assert len(CASES) >= 500
