"""Type stub of the compiled :mod:`btfdedup.render.walk` (see ``walk.pyx``)."""

import numpy as np

FORMAT_RAW: int
FORMAT_JSON: int
FORMAT_JSON_PRETTY: int

def dump_chunk(
    words: np.ndarray,
    type_start: np.ndarray,
    sel: np.ndarray,
    start_id: int,
    strs: np.ndarray,
    all_kind: np.ndarray,
    all_name: np.ndarray,
    type_cnt: int,
    first: int,
    cap: int,
    ends: np.ndarray,
    fmt: int,
) -> tuple[int, bytes | None]: ...
