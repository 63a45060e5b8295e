"""Record libbpf's object-open outputs for ``tests/test_bpfobj_open.py``.

Runs that test file in recording mode, which writes

* ``open_libbpf112.json`` (judge: the system libbpf 1.1.2, ``bpf_object__open_file``
  + ``bpf_object__btf`` + ``btf__raw_data``): for every committed object under
  ``corpora/bpf`` and ``corpora/bpf-objects``, the sha256 and size of the opened BTF,
  or the errno libbpf refused the object with;
* ``open_finalized_merge_v16.json`` (judge: libbpf v1.6 of the pylibbpf 0.0.6 wheel):
  each object of a list opened by libbpf 1.1.2, then ``btf__add_btf`` into
  ``btf__new_empty`` and ``btf__dedup``, for all of ``corpora/bpf-objects`` in sorted
  order and a few smaller lists.

Re-run where both judges are installed when an object under ``corpora/bpf`` or
``corpora/bpf-objects`` is added or rebuilt, or a merge list of the test changes;
review the diff and commit it.

    python tests/expected/make_open_finalized.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.expected import run_generator  # noqa: E402

FAMILIES = ("open_libbpf112", "open_finalized_merge_v16")
TEST_FILES = ("tests/test_bpfobj_open.py",)

if __name__ == "__main__":
    sys.exit(run_generator(FAMILIES, TEST_FILES, sys.argv[1:]))
