"""Generate the fixed corpus of random type graphs and record libbpf v1.6's outputs for it.

The hypothesis property tests (tests/test_dedup_hypothesis.py) compare btfdedup with
libbpf v1.6 on random inputs, which cannot have committed expectations.  This script
draws a fixed set of inputs from the same strategies (tests/strategies.py) with a
derandomized hypothesis run, 200 in all over the five properties, and stores them in
``dedup_hypothesis_corpus.json.xz`` (small blobs, base64).  It then runs the corpus
test in recording mode, which stores the sha256 and size of libbpf v1.6's output for
each case (or the errno it refused the input with) in
``dedup_hypothesis_v16.json``.  The corpus test checks ours against those always, and
against libbpf live where the pylibbpf 0.0.6 wheel is installed.

Re-run (where the pylibbpf 0.0.6 wheel is installed) when tests/strategies.py changes
in a way worth pinning, or when the pinned judge changes; review and commit both files.

    python tests/expected/make_dedup_hypothesis_corpus.py
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

CORPUS = EXPECTED_DIR / "dedup_hypothesis_corpus.json.xz"
#: examples per property: direct, merge, split, modules, loops (200 in all)
COUNTS = {"direct": 70, "merge": 50, "split": 45, "modules": 20, "loop": 15}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _settings(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, database=None, deadline=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def generate() -> list[dict[str, Any]]:
    """Draw the corpus: each case is a property name, its inputs and its options."""
    cases: list[dict[str, Any]] = []
    lib = Libbpf.v16()  # real bases are deduplicated already: half the split bases are

    @_settings(COUNTS["direct"])
    @given(btf=raw_btfs(), force=st.booleans(), big_endian=st.booleans())
    def direct(btf: Any, force: bool, big_endian: bool) -> None:
        if big_endian:
            btf.byteorder = ">"
        cases.append({"kind": "direct", "force": force, "inputs": [_b64(btf.to_bytes())]})

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

    for prop in (direct, merge, split, modules, loop):
        prop()
    return cases


def main() -> int:
    cases = generate()
    doc = {
        "generated_by": "python tests/expected/make_dedup_hypothesis_corpus.py",
        "hypothesis": hypothesis_version,
        "strategies": "tests/strategies.py",
        "cases": cases,
    }
    CORPUS.write_bytes(lzma.compress(json.dumps(doc, indent=0).encode(), preset=9))
    print(f"wrote {CORPUS} ({len(cases)} cases)")
    return run_generator(["dedup_hypothesis_v16"], ["tests/test_dedup_hypothesis.py"], ["-k", "corpus", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
