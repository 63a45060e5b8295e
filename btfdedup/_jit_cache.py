"""Where numba keeps compiled code when the package directory is read-only.

numba caches compiled functions next to their source by default; a user who
cannot write there (a system-wide install, an unprivileged user) would get
``RuntimeError: cannot cache function`` at import.  Point numba at a per-user
cache directory instead.  Must run before numba is first imported.
"""

from __future__ import annotations

import os
import tempfile


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def configure() -> None:
    """Set ``NUMBA_CACHE_DIR`` when unset and the package directory is not writable."""
    if os.environ.get("NUMBA_CACHE_DIR") or os.access(os.path.dirname(__file__), os.W_OK):
        return
    candidates = []
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates.append(os.path.join(xdg, "btfdedup", "numba"))
    candidates.append(os.path.join(tempfile.gettempdir(), f"btfdedup-numba-{os.getuid()}"))
    for path in candidates:
        if _writable(path):
            os.environ["NUMBA_CACHE_DIR"] = path
            return


configure()
