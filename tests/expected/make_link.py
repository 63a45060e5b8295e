"""Record libbpf 1.1.2's static linker outputs for ``tests/test_bpfobj_link.py``.

For every ordered pair and every triple (in sorted order) of the committed
little-endian BPF objects (``corpora/bpf/*.o`` without the ``bpfeb`` ones, and
``corpora/bpf-objects/*.o``), and every ordering of one to three of the hand-written
inputs in ``tests/expected/link_cases`` (sources and ``build.sh`` there), the system libbpf's ``bpf_linker`` links them in that
order; ``link.json`` stores the sha256 and size of the linked ``.BTF`` and
``.BTF.ext`` (``ext`` null when the linker writes none), or the errno and the
linker's one-line reason when it refuses.  ``input_sha256`` covers the inputs.

Re-run where the system libbpf 1.1.2 is installed when an object under ``corpora/``
is added or changed; review the diff and commit it.

    python tests/expected/make_link.py
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.expected import EXPECTED_DIR, REPO, inputs_digest, sha256  # noqa: E402
from tests.oracle.linker import LinkerOracle, LinkRefused  # noqa: E402

LINK_JSON = EXPECTED_DIR / "link.json"
JUDGE = "libbpf 1.1.2 bpf_linker"


def link_objects_list() -> list[str]:
    """The committed little-endian objects, repo-relative, sorted."""
    objs = sorted(str(p.relative_to(REPO)) for p in (REPO / "corpora" / "bpf").glob("*.o"))
    objs += sorted(str(p.relative_to(REPO)) for p in (REPO / "corpora" / "bpf-objects").glob("*.o"))
    return [o for o in objs if "bpfeb" not in o]


def link_case_objects() -> list[str]:
    """The hand-written linker inputs of ``tests/expected/link_cases`` (see its build.sh)."""
    return sorted(str(p.relative_to(REPO)) for p in (EXPECTED_DIR / "link_cases").glob("*.o"))


def link_combos() -> list[tuple[str, ...]]:
    """Every ordered pair, then every sorted triple, of :func:`link_objects_list`; then
    every ordering of one to three of :func:`link_case_objects` (order decides which
    definition wins and where each input lands)."""
    objs = link_objects_list()
    combos = list(itertools.permutations(objs, 2)) + list(itertools.combinations(objs, 3))
    cases = link_case_objects()
    for k in (1, 2, 3):
        combos += list(itertools.permutations(cases, k))
    return combos


def combo_key(combo: tuple[str, ...]) -> str:
    return "+".join(combo)


def combo_digest(combo: tuple[str, ...]) -> str:
    return inputs_digest([(REPO / p).read_bytes() for p in combo])


def blob_entry(data: bytes | None) -> dict[str, Any] | None:
    return None if data is None else {"sha256": sha256(data), "size": len(data)}


def normalize_reason(reason: str) -> str:
    """libbpf's warning without its ``libbpf: `` prefix and the input file it names
    (our message names the file in front instead)."""
    reason = reason.removeprefix("libbpf: ").strip()
    return re.sub(r" in '[^']*'$", "", reason)


def judge_entry(oracle: LinkerOracle, combo: tuple[str, ...]) -> dict[str, Any]:
    """The live linker's outcome for ``combo`` in the ``link.json`` entry form."""
    try:
        btf, ext = oracle.link([str(REPO / p) for p in combo])
    except LinkRefused as e:
        return {"errno": e.errno, "reason": normalize_reason(e.reason())}
    return {"btf": blob_entry(btf), "ext": blob_entry(ext)}


def _dump(doc: dict[str, Any]) -> str:
    """JSON with one line per entry: small, and diffs stay readable."""
    head = {k: v for k, v in doc.items() if k != "entries"}
    lines = [json.dumps(head, sort_keys=True)[:-1] + ', "entries": {']
    items = sorted(doc["entries"].items())
    for n, (key, entry) in enumerate(items):
        sep = "," if n + 1 < len(items) else ""
        lines.append(f" {json.dumps(key)}: {json.dumps(entry, sort_keys=True, separators=(',', ':'))}{sep}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main() -> None:
    oracle = LinkerOracle.system()
    entries: dict[str, Any] = {}
    for combo in link_combos():
        entry = judge_entry(oracle, combo)
        entry["input_sha256"] = combo_digest(combo)
        entries[combo_key(combo)] = entry
    doc = {
        "family": "link",
        "judge": f"{JUDGE} ({os.path.realpath(oracle.lib.path)})",
        "regenerate": "python tests/expected/make_link.py",
        "entries": entries,
    }
    LINK_JSON.write_text(_dump(doc))
    print(f"wrote {len(entries)} entries to {LINK_JSON}")


if __name__ == "__main__":
    main()
