"""Record libbpf v1.6's outputs (the pylibbpf 0.0.6 wheel) for every judged case.

Writes ``dedup_v16.json``, ``merge_v16.json`` and ``parse_v16.json`` next to this
file by running the tests that check them with ``BTFDEDUP_RECORD_EXPECTED`` set:
each check then calls libbpf v1.6 live and stores the sha256 and size of its output
(or the errno it refused the input with).  Re-run, where the pylibbpf 0.0.6 wheel is
installed, when a fixture under ``corpora/`` is added or changed, when a judged test
case is added or its input changes, or when the pinned judge changes; then review
the diff and commit it.

    python tests/expected/make_libbpf_v16.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.expected import run_generator  # noqa: E402

FAMILIES = ("dedup_v16", "merge_v16", "parse_v16")
TEST_FILES = (
    "tests/test_dedup_oracle.py",
    "tests/test_dedup_semantics.py",
    "tests/test_merge.py",
    "tests/test_io_roundtrip.py",
    "tests/test_io_elf.py",
    "tests/test_io_load.py",
    "tests/test_model_ext.py",
    "tests/test_model_btf.py",
    "tests/test_io_malformed.py",
    "tests/test_cli_dedup.py",
    "tests/test_cli_dedup_single.py",
    "tests/test_cli_split.py",
)

if __name__ == "__main__":
    sys.exit(run_generator(FAMILIES, TEST_FILES, sys.argv[1:]))
