"""Record bpftool's ``btf dump`` text for every committed fixture and hand-built case.

Writes ``bpftool_dump.json`` next to this file (sha256 and size of the raw, ``-j``
and ``-p`` output; the text itself when it is small) by running the dump, stats and
flatten tests with ``BTFDEDUP_RECORD_EXPECTED=bpftool_dump``: each check then runs
the installed bpftool (Debian's 7.1.0 is the pinned judge; its ``bpftool version``
line is stored as ``judge``).  Re-run, where that bpftool is installed, when a
fixture under ``corpora/`` is added or changed, when a judged test case is added or
its input changes, or when the pinned bpftool changes; review the diff, commit it.

    python tests/expected/make_bpftool.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.expected import run_generator  # noqa: E402

FAMILIES = ("bpftool_dump",)
TEST_FILES = (
    "tests/test_dump_raw.py",
    "tests/test_dump_json.py",
    "tests/test_stats.py",
    "tests/test_kernel_flatten.py",
)

if __name__ == "__main__":
    sys.exit(run_generator(FAMILIES, TEST_FILES, sys.argv[1:]))
