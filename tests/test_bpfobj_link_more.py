"""``link_objects`` on hand-written objects that exercise each rule of the static linker.

The objects of ``tests/expected/link_more`` (sources and what each exercises in its
``build.sh``) resolve externs to later definitions, override weak definitions, upgrade
an extern-only ``.maps``, compare map-in-map definitions, and break the rules the
linker refuses (two declarations of one kfunc, mismatching map definitions, types,
arities and licenses).  Every ordering of one or two of them, and a seeded sample of
orderings of three, is linked by us and judged by libbpf 1.1.2's ``bpf_linker``
through :class:`tests.expected.Family` ("link_more_libbpf112"): the ``.BTF`` and the
``.BTF.ext`` must be the judge's bytes, or both sides refuse.  When the judge is
installed it runs live too, and then our refusal must also carry its errno and the
same rule as the judge's reason.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from btfdedup.bpfobj.link import LinkError, LinkResult, link_objects
from tests.expected import EXPECTED_DIR, Family, Judge, rel
from tests.oracle.linker import LinkerOracle, LinkRefused

CASES = sorted(str(p) for p in (EXPECTED_DIR / "link_more").glob("*.o"))
_rng = random.Random(20261206)
COMBOS: list[tuple[str, ...]] = [
    *itertools.permutations(CASES, 1),
    *itertools.permutations(CASES, 2),
    *_rng.sample(sorted(itertools.permutations(CASES, 3)), 150),
]


def _describe(oracle: LinkerOracle) -> str:
    import os

    return f"libbpf 1.1.2 bpf_linker ({os.path.realpath(oracle.lib.path)})"


LINKER = Judge("libbpf 1.1.2 bpf_linker", LinkerOracle.system, _describe)
LINK_MORE = Family("link_more_libbpf112", LINKER, "tests/expected/make_link_more.py")

#: the start of the linker's warning -> the rule our LinkError names
REASON_RULES = {
    "conflicting non-weak symbol": "strong-conflict",
    "non-identical contents of section": "license-version",
    "failed to resolve size of underlying type": "datasec-size",
    "map ": "btf-mismatch",
    "incompatible": "btf-mismatch",
}


def _rule_of(reason: str) -> str | None:
    text = reason.removeprefix("libbpf: ")
    if text.startswith("global '"):
        text = text.split("': ", 1)[1]
    for start, rule in REASON_RULES.items():
        if text.startswith(start):
            return rule
    return None


def _name(path: str) -> str:
    return Path(path).name.removesuffix(".bpf.o")


@pytest.mark.parametrize("combo", COMBOS, ids=["+".join(_name(p) for p in c) for c in COMBOS])
def test_link_more(combo: tuple[str, ...]) -> None:
    key = "+".join(rel(p) for p in combo)
    inputs = [Path(p).read_bytes() for p in combo]
    ours: LinkResult | LinkError
    try:
        ours = link_objects(list(combo))
    except LinkError as e:
        ours = e
        assert "\n" not in str(e) and str(e).startswith(f"{e.source}: "), str(e)
    live: tuple[bytes, bytes | None] | LinkRefused | None = None
    oracle = LINKER.live()
    if oracle is not None:
        try:
            live = oracle.link(list(combo))
        except LinkRefused as e:
            live = e
    if isinstance(live, LinkRefused) and isinstance(ours, LinkError):
        assert ours.errno == live.errno, f"{key}: errno {ours.errno}, the linker's {live.errno} ({live.reason()})"
        want = _rule_of(live.reason())
        assert want is not None, f"{key}: the linker's reason is not tabulated: {live.reason()}"
        assert ours.rule == want, f"{key}: our rule {ours.rule} ({ours}), the linker's reason {live.reason()}"

    def ours_part(part: str) -> bytes:
        if isinstance(ours, LinkError):
            raise ours
        if part == "btf":
            return ours.btf_bytes()
        return ours.ext_bytes() or b""

    def judge_part(handle: LinkerOracle, part: str) -> bytes:
        if isinstance(live, LinkRefused):
            raise live
        assert live is not None
        return live[0] if part == "btf" else (live[1] or b"")

    for part in ("btf", "ext"):
        LINK_MORE.check(f"{key}::{part}", lambda part=part: ours_part(part),
                        lambda handle, part=part: judge_part(handle, part), inputs=inputs, ours_errors=LinkError)
