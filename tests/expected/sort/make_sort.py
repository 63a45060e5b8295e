"""Record libbpf master's ``btf__permute`` outputs for the ``sort`` tests.

Writes ``permute_master.json`` (committed fixtures, tests/test_sort.py) and
``permute_master_corpus.json`` (the big corpora's modules-6.1 vmlinux and every
module of ``split.tar.xz`` sorted on it, tests/test_sort_corpus.py) next to this
file: each check calls libbpf master's ``btf__permute`` with resolve_btfids' id_map
live and stores the sha256 and size of ``btf__raw_data`` (and ``btf_ext__raw_data``).
Run where ``$BTFDEDUP_LIBBPF_MASTER`` names a libbpf master build (and the big corpora
are found, see tests/conftest.py), when a fixture or the pinned libbpf changes; then
review the diff and commit it.

    BTFDEDUP_LIBBPF_MASTER=/path/to/libbpf/src/libbpf.so python tests/expected/sort/make_sort.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.expected import run_generator  # noqa: E402

FAMILIES = ("sort/permute_master", "sort/permute_master_corpus")
TEST_FILES = ("tests/test_sort.py", "tests/test_sort_corpus.py")

if __name__ == "__main__":
    # -m: the corpus family's tests are marked ``corpus`` (run_generator deselects those by default)
    sys.exit(run_generator(FAMILIES, TEST_FILES, ["-m", "corpus or not corpus", *sys.argv[1:]]))
