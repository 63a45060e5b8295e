"""Record libbpf 1.1.2's ``btf__dedup`` outputs for ``tests/test_dedup_libbpf11.py``.

First draws a fixed corpus of random type graphs from the same strategies as that
file's live property tests (a derandomized hypothesis run, 200 cases over direct,
duplicated-type, merged, split, module and reference-loop inputs) and stores it in
``dedup_libbpf11_corpus.json.xz`` (small blobs, base64).  Then runs the test file in
recording mode, which writes ``dedup_libbpf11.json`` (judge: the system libbpf 1.1.2,
"libbpf 1.1.2 btf__dedup": fixtures, hand-built cases and the corpus) and
``dedup_libbpf11_v16.json`` (the v1.6 side of the hand-built cases where the two
releases differ; judge: libbpf v1.6 of the pylibbpf 0.0.6 wheel): each check calls the
judge live and stores the sha256 and size of its output, or the errno it refused the
input with.

Re-run where both judges are installed when a fixture under ``corpora/``, a hand-built
case of that file or ``tests/strategies.py`` changes; review the diff and commit it.

    python tests/expected/make_dedup_libbpf11.py
"""

from __future__ import annotations

import base64
import contextlib
import json
import lzma
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import __version__ as hypothesis_version  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from btfdedup.io.raw import parse_raw  # noqa: E402
from tests.expected import EXPECTED_DIR, run_generator  # noqa: E402
from tests.oracle.libbpf import Libbpf, OracleError  # noqa: E402
from tests.strategies import base_btfs, cu_sets, looped_btfs, raw_btfs, split_btfs  # noqa: E402

CORPUS = EXPECTED_DIR / "dedup_libbpf11_corpus.json.xz"
FAMILIES = ("dedup_libbpf11", "dedup_libbpf11_v16")
TEST_FILES = ("tests/test_dedup_libbpf11.py",)
#: examples per kind of input (200 in all)
COUNTS = {"direct": 40, "duplicates": 80, "merge": 25, "split": 30, "modules": 15, "loop": 10}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _settings(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def generate() -> list[dict[str, Any]]:
    """Draw the corpus: each case is its kind, its inputs and its options."""
    from tests.test_dedup_libbpf11 import duplicate_families

    cases: list[dict[str, Any]] = []
    lib = Libbpf.system()  # half the split bases are deduplicated first, like real ones

    @_settings(COUNTS["direct"])
    @given(btf=raw_btfs(), force=st.booleans(), big_endian=st.booleans())
    def direct(btf: Any, force: bool, big_endian: bool) -> None:
        if big_endian:
            btf.byteorder = ">"
        cases.append({"kind": "direct", "force": force, "inputs": [_b64(btf.to_bytes())]})

    @_settings(COUNTS["duplicates"])
    @given(btf=duplicate_families(), force=st.booleans())
    def duplicates(btf: Any, force: bool) -> None:
        cases.append({"kind": "duplicates", "force": force, "inputs": [_b64(btf.to_bytes())]})

    @_settings(COUNTS["merge"])
    @given(btfs=cu_sets(), force=st.booleans())
    def merge(btfs: list[Any], force: bool) -> None:
        cases.append({"kind": "merge", "force": force, "inputs": [_b64(b.to_bytes()) for b in btfs]})

    @_settings(COUNTS["split"])
    @given(data=st.data(), force=st.booleans(), dedup_base=st.booleans())
    def split(data: st.DataObject, force: bool, dedup_base: bool) -> None:
        base_bytes = data.draw(base_btfs()).to_bytes()
        if dedup_base:
            with contextlib.suppress(OracleError):
                base_bytes = lib.dedup_bytes(base_bytes)
        split_bytes = data.draw(split_btfs(parse_raw(base_bytes))).to_bytes()
        cases.append({"kind": "split", "force": force, "base": _b64(base_bytes), "inputs": [_b64(split_bytes)]})

    @_settings(COUNTS["modules"])
    @given(data=st.data())
    def modules(data: st.DataObject) -> None:
        base_bytes = data.draw(base_btfs()).to_bytes()
        base = parse_raw(base_bytes)
        n = data.draw(st.integers(1, 3))
        mods = [data.draw(split_btfs(base, max_copies=2, max_types=8)).to_bytes() for _ in range(n)]
        cases.append({"kind": "modules", "force": False, "base": _b64(base_bytes), "inputs": [_b64(m) for m in mods]})

    @_settings(COUNTS["loop"])
    @given(btf=looped_btfs())
    def loop(btf: Any) -> None:
        cases.append({"kind": "loop", "force": False, "inputs": [_b64(btf.to_bytes())]})

    for prop in (direct, duplicates, merge, split, modules, loop):
        prop()
    return cases


def main() -> int:
    cases = generate()
    doc = {
        "generated_by": "python tests/expected/make_dedup_libbpf11.py",
        "hypothesis": hypothesis_version,
        "strategies": "tests/strategies.py, tests/test_dedup_libbpf11.py",
        "cases": cases,
    }
    CORPUS.write_bytes(lzma.compress(json.dumps(doc, indent=0).encode(), preset=9))
    print(f"wrote {CORPUS} ({len(cases)} cases)")
    return run_generator(FAMILIES, TEST_FILES, sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
