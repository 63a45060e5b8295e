"""Type stub of the compiled :mod:`btfdedup.render.walk` (see ``walk.pyx``)."""

import numpy as np
from typing_extensions import Buffer as _Buffer

#: What a typed memoryview argument takes: any buffer of the right item type.
Buffer = _Buffer | np.ndarray

FORMAT_RAW: int
FORMAT_JSON: int
FORMAT_JSON_PRETTY: int

def dump_chunk(
    words: Buffer,
    type_start: Buffer,
    sel: Buffer,
    start_id: int,
    strs: Buffer,
    all_kind: Buffer,
    all_name: Buffer,
    type_cnt: int,
    first: int,
    cap: int,
    ends: Buffer,
    fmt: int,
    nall: int = -1,
) -> tuple[int, bytes | None]: ...
def name_offsets(words: Buffer, type_start: Buffer, out: Buffer, at: int) -> None: ...
