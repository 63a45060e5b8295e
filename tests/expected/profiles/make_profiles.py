"""Record libbpf 1.7.0's and master's outputs for the profile tests (and v1.6's side).

Runs ``tests/test_profiles.py`` and ``tests/test_profiles_hypothesis.py`` in recording
mode, which stores the sha256 and size of each judge's output (or the errno it refused
the input with) in ``tests/expected/profiles/dedup_v16.json`` (pylibbpf 0.0.6 wheel),
``dedup_v17.json`` (libbpf tag v1.7.0) and ``dedup_v18.json`` (libbpf master
f7081a6b, which reports 1.8.0).  The v1.7.0 and master judges are local builds of
libbpf's repository (``make -C src`` at each ref):

    BTFDEDUP_LIBBPF_1_7=/path/v1.7.0/src/libbpf.so \\
    BTFDEDUP_LIBBPF_MASTER=/path/master/src/libbpf.so \\
        python tests/expected/profiles/make_profiles.py

The raw outputs under ``fixtures/1.7`` and ``fixtures/1.8`` are libbpf's own bytes on
the project's ``corpora/`` fixtures (same recipe as the big references: new BTF,
``btf__add_btf`` of each input in order, ``btf__dedup``); the test file checks them
against the live builds where those are installed.  Review the diff and commit.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.expected import run_generator  # noqa: E402

FAMILIES = ("profiles/dedup_v16", "profiles/dedup_v17", "profiles/dedup_v18")
TEST_FILES = ("tests/test_profiles.py", "tests/test_profiles_hypothesis.py")

if __name__ == "__main__":
    sys.exit(run_generator(FAMILIES, TEST_FILES, sys.argv[1:]))
