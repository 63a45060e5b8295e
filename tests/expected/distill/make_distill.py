"""Record libbpf's ``btf__distill_base`` / ``btf__relocate`` outputs for the distill tests.

Writes ``distill_v16.json`` (libbpf v1.6, the pylibbpf wheel: the default profile) and
``distill_master.json`` (libbpf master, ``libbpf_version="1.8"``: 32-byte headers) next
to this file from ``tests/test_distill.py`` and ``tests/test_relocate.py`` (the
project's ``corpora/modules`` fixtures and hand-built cases), and
``distill_corpus_v16.json`` / ``distill_corpus_master.json`` from
``tests/test_distill_corpus.py`` (every module of the big corpora's modules-6.1, one
aggregate entry per judge) where the big corpora are found.  Run where the judges are
installed, review the diff and commit:

    BTFDEDUP_LIBBPF_MASTER=/path/to/libbpf/src/libbpf.so python tests/expected/distill/make_distill.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.expected import run_generator  # noqa: E402

FAMILIES = ("distill/distill_v16", "distill/distill_master", "distill/distill_corpus_v16",
            "distill/distill_corpus_master")
TEST_FILES = ("tests/test_distill.py", "tests/test_relocate.py", "tests/test_distill_corpus.py")

if __name__ == "__main__":
    # -m: the corpus family's tests are marked ``corpus`` (run_generator deselects those by default)
    sys.exit(run_generator(FAMILIES, TEST_FILES, ["-m", "corpus or not corpus", *sys.argv[1:]]))
