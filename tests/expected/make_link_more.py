"""Record libbpf 1.1.2's static linker outputs for ``tests/test_bpfobj_link_more.py``.

Runs that test file in recording mode: every check links its objects (from
``tests/expected/link_more``, see its ``build.sh``) with the system libbpf's
``bpf_linker`` (judge "libbpf 1.1.2 bpf_linker") and stores the sha256 and size of
the ``.BTF`` and ``.BTF.ext`` it writes, or the errno it refuses the link with, in
``link_more_libbpf112.json``.

Re-run where the system libbpf 1.1.2 is installed when an object of
``tests/expected/link_more`` is rebuilt or the test's cases change; review the
diff and commit it.

    python tests/expected/make_link_more.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.expected import run_generator  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_generator(["link_more_libbpf112"], ["tests/test_bpfobj_link_more.py"]))
