"""Record bpftool's raw dump of the fixtures that tests/test_api.py renders from views.

Run from the repository root where bpftool 7.1.0 is installed:
``python tests/expected/make_bpftool_views.py``; it rewrites ``bpftool_views.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.expected import run_generator  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_generator(["bpftool_views"], ["tests/test_api.py"], ["-k", "views_render_as_bpftool"]))
