from array import array

import numpy as np
from typing_extensions import Buffer as _Buffer

#: What a typed memoryview argument takes: any buffer of the right item type.
Buffer = _Buffer | np.ndarray

SCAN_OK: int
SCAN_UNKNOWN_KIND: int
SCAN_OVERRUN: int
SCAN_HEADER_OVERRUN: int
FIELD_OK: int
FIELD_STRING: int
FIELD_TYPE_ID: int
FIELD_BOUNDARY: int

def scan(
    words: Buffer, fixed_words: Buffer, vlen_words: Buffer, known: Buffer
) -> tuple[array[int], array[int], int, int, int]: ...
def scan_checked(
    words: Buffer,
    fixed_words: Buffer,
    vlen_words: Buffer,
    known: Buffer,
    str_end: int,
    start_id: int,
    tid_first: Buffer,
    tid_stride: Buffer,
    tid_fixed: Buffer,
    tid_per_vlen: Buffer,
    str_stride: Buffer,
    str_per_vlen: Buffer,
) -> tuple[array[int], array[int], int, int, int, bool]: ...
def first_bad_start(
    words: Buffer, type_start: Buffer, fixed_words: Buffer, vlen_words: Buffer, known: Buffer
) -> int: ...
def first_bad_field(
    words: Buffer,
    type_start: Buffer,
    str_end: int,
    type_cnt: int,
    tid_first: Buffer,
    tid_stride: Buffer,
    tid_fixed: Buffer,
    tid_per_vlen: Buffer,
    str_stride: Buffer,
    str_per_vlen: Buffer,
) -> tuple[int, int, int]: ...
def first_bad_func(
    words: Buffer, type_start: Buffer, kinds: Buffer, start_id: int, base_kinds: Buffer
) -> tuple[int, int, int]: ...
