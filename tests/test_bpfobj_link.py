"""``link_objects`` against libbpf 1.1.2's static linker (``bpftool gen object``).

Every ordered pair and every triple of the committed little-endian BPF objects, and
every ordering of one to three hand-written inputs (``tests/expected/link_cases``:
extern FUNC/VAR resolution, weak/strong, FWD-only pointers, ``.kconfig``/``.ksyms``,
a BTF mismatch), is linked by :func:`btfdedup.bpfobj.link.link_objects`; the linked ``.BTF`` and
``.BTF.ext`` must equal the committed judge output (``tests/expected/link.json``,
"libbpf 1.1.2 bpf_linker", written by ``tests/expected/make_link.py``) and, when the
system ``libbpf.so.1`` loads, the live linker's bytes.  A refused link must be
refused by us too, with the same errno and the linker's reason on one line naming
the input.  The corpus test links the libbpf-tools and xdp-tools object lists.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from btfdedup.bpfobj.link import LinkError, link_objects
from tests.expected import REPO
from tests.expected.make_link import (
    JUDGE,
    LINK_JSON,
    blob_entry,
    combo_digest,
    combo_key,
    judge_entry,
    link_combos,
    normalize_reason,
)
from tests.oracle.libbpf import OracleUnavailable
from tests.oracle.linker import LinkerOracle, LinkRefused

CORPUS = Path("/work/shared/corpora/bpf-objects")

#: the linker's warning (a pattern of its start) -> the rule name our LinkError carries
REASON_RULES = [
    (r"conflicting non-weak symbol", "strong-conflict"),
    (r"failed to find symbol for variable", "var-symbol"),
    (r"failed to find BTF info for global/extern symbol", "global-needs-btf"),
    (r"externs without BTF info are not supported", "extern-needs-btf"),
    (r"non-identical contents of section", "license-version"),
    (r"global/extern '[^']*' BTF is ambiguous", "ambiguous-btf"),
    (r"global '[^']*': incompatible", "btf-mismatch"),
]


def rule_of_reason(reason: str) -> str | None:
    """Our rule name for the linker's one-line reason (None when not tabulated)."""
    for pattern, rule in REASON_RULES:
        if re.match(pattern, reason):
            return rule
    return None
COMBOS = link_combos()


def _committed() -> dict[str, Any]:
    if not LINK_JSON.exists():
        pytest.fail(f"{LINK_JSON} is missing: run python tests/expected/make_link.py")
    doc: dict[str, Any] = json.loads(LINK_JSON.read_text())
    assert doc["judge"].startswith(JUDGE)
    return doc["entries"]  # type: ignore[no-any-return]


_COMMITTED: dict[str, Any] | None = None


def committed() -> dict[str, Any]:
    global _COMMITTED
    if _COMMITTED is None:
        _COMMITTED = _committed()
    return _COMMITTED


def live_oracle() -> LinkerOracle | None:
    try:
        return LinkerOracle.system()
    except OracleUnavailable:
        return None


def our_entry(paths: list[str]) -> dict[str, Any]:
    """Our outcome in the ``link.json`` entry form, plus ``message`` for a refusal."""
    try:
        res = link_objects(paths)
    except LinkError as e:
        return {"errno": getattr(e, "errno", None), "rule": getattr(e, "rule", None), "message": str(e)}
    return {"btf": blob_entry(res.btf.to_bytes()), "ext": blob_entry(res.ext.to_bytes() if res.ext is not None else None)}


def check_same(ours: dict[str, Any], ref: dict[str, Any], what: str) -> None:
    if "errno" in ref:
        assert "errno" in ours, f"{what}: the linker refuses ({ref['reason']}), we link"
        if ours["errno"] is not None:
            assert ours["errno"] == ref["errno"], f"{what}: errno {ours['errno']} != linker's {ref['errno']}"
        msg = ours["message"]
        assert "\n" not in msg, f"{what}: the refusal is not one line: {msg!r}"
        rule = rule_of_reason(ref["reason"])
        assert ours["rule"] == rule, f"{what}: our refusal {msg!r} is not the linker's ({ref['reason']!r}, rule {rule})"
    else:
        assert "errno" not in ours, f"{what}: we refuse ({ours.get('message')}), the linker links"
        assert ours["btf"] == ref["btf"], f"{what}: .BTF differs"
        assert ours["ext"] == ref["ext"], f"{what}: .BTF.ext differs"


@pytest.mark.parametrize("combo", COMBOS, ids=[combo_key(c).replace("corpora/", "") for c in COMBOS])
def test_link_matches_linker(combo: tuple[str, ...]) -> None:
    key = combo_key(combo)
    entry = committed().get(key)
    assert entry is not None, f"no committed expectation for {key}: run tests/expected/make_link.py"
    assert entry["input_sha256"] == combo_digest(combo), f"stale expectation for {key}: re-run make_link.py"
    ours = our_entry([str(REPO / p) for p in combo])
    check_same(ours, entry, key)
    oracle = live_oracle()
    if oracle is not None:
        live = judge_entry(oracle, combo)
        ref = {k: v for k, v in entry.items() if k != "input_sha256"}
        assert live == ref, f"{key}: the live linker disagrees with the committed expectation"


def test_refusal_is_one_line_naming_file_and_rule() -> None:
    ours = our_entry([str(REPO / "corpora/bpf/maps.bpf.o"), str(REPO / "corpora/bpf/maps.bpf.o")])
    assert ours["errno"] in (None, 22)
    assert ours["message"].startswith(str(REPO / "corpora/bpf/maps.bpf.o") + ": ")
    assert ours["rule"] == "strong-conflict"
    assert "\n" not in ours["message"]


def test_committed_counts() -> None:
    entries = committed()
    assert set(entries) == {combo_key(c) for c in COMBOS}
    refused = sum(1 for e in entries.values() if "errno" in e)
    assert 0 < refused < len(entries)


# ------------------------------------------------------------------ corpus
def _list_paths(list_name: str, subdir: str) -> list[str]:
    lines = (CORPUS / list_name).read_text().split()
    return [str(CORPUS / subdir / Path(line).name) for line in lines]


def _live_or_skip() -> LinkerOracle:
    oracle = live_oracle()
    if oracle is None:
        pytest.fail("the corpus link test needs the system libbpf.so.1 (libbpf 1.1.2)")
    return oracle


def _live(oracle: LinkerOracle, paths: list[str]) -> dict[str, Any]:
    try:
        btf, ext = oracle.link(paths)
    except LinkRefused as e:
        return {"errno": e.errno, "reason": normalize_reason(e.reason())}
    return {"btf": blob_entry(btf), "ext": blob_entry(ext)}


@pytest.mark.corpus
@pytest.mark.parametrize(("list_name", "subdir"), [("list_libbpf_tools.txt", "libbpf-tools"), ("list_xdp.txt", "xdp-tools")])
def test_corpus_list_links_like_linker(list_name: str, subdir: str) -> None:
    oracle = _live_or_skip()
    paths = _list_paths(list_name, subdir)
    check_same(our_entry(paths), _live(oracle, paths), list_name)


@pytest.mark.corpus
@pytest.mark.parametrize(("list_name", "subdir"), [("list_libbpf_tools.txt", "libbpf-tools"), ("list_xdp.txt", "xdp-tools")])
def test_corpus_random_pairs_and_prefixes(list_name: str, subdir: str) -> None:
    """Random pairs of the list (seeded), and the list's longest prefix the linker accepts."""
    oracle = _live_or_skip()
    paths = _list_paths(list_name, subdir)
    rng = random.Random(20261206)
    for _ in range(60):
        pair = rng.sample(paths, 2)
        check_same(our_entry(pair), _live(oracle, pair), "+".join(Path(p).name for p in pair))
    accepted: list[str] = []
    for p in paths:
        trial = [*accepted, p]
        ref = _live(oracle, trial)
        check_same(our_entry(trial), ref, f"{list_name} prefix + {Path(p).name}")
        if "errno" not in ref:
            accepted = trial
