"""Shared fixtures: where committed fixtures and the optional big corpora live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "corpora"


def big_corpora_dir() -> Path | None:
    """The big corpora: $BTFDEDUP_CORPORA, else ../shared/corpora beside the checkout."""
    env = os.environ.get("BTFDEDUP_CORPORA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "corpora"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    d = big_corpora_dir()
    if d is None:
        pytest.skip("big corpora not found: set BTFDEDUP_CORPORA (see corpora/README.md)")
    return d


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which judges run live in this session; the committed expectations are checked always."""
    from tests.expected import judges_report

    return judges_report()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the judges' outputs recorded in this session (``BTFDEDUP_RECORD_EXPECTED``)."""
    from tests.expected import RECORD_ENV, write_recorded

    if os.environ.get(RECORD_ENV):
        for path in write_recorded():
            print(f"\nwrote {path}")
