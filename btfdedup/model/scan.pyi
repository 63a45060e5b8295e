import numpy as np

SCAN_OK: int
SCAN_UNKNOWN_KIND: int
SCAN_OVERRUN: int
SCAN_HEADER_OVERRUN: int
FIELD_OK: int
FIELD_STRING: int
FIELD_TYPE_ID: int
FIELD_BOUNDARY: int

def scan(
    words: np.ndarray, fixed_words: np.ndarray, vlen_words: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, int, int]: ...
def scan_checked(
    words: np.ndarray,
    fixed_words: np.ndarray,
    vlen_words: np.ndarray,
    known: np.ndarray,
    str_end: int,
    start_id: int,
    tid_first: np.ndarray,
    tid_stride: np.ndarray,
    tid_fixed: np.ndarray,
    tid_per_vlen: np.ndarray,
    str_stride: np.ndarray,
    str_per_vlen: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int, int, int, bool]: ...
def first_bad_start(
    words: np.ndarray, type_start: np.ndarray, fixed_words: np.ndarray, vlen_words: np.ndarray, known: np.ndarray
) -> int: ...
def first_bad_field(
    words: np.ndarray,
    type_start: np.ndarray,
    str_end: int,
    type_cnt: int,
    tid_first: np.ndarray,
    tid_stride: np.ndarray,
    tid_fixed: np.ndarray,
    tid_per_vlen: np.ndarray,
    str_stride: np.ndarray,
    str_per_vlen: np.ndarray,
) -> tuple[int, int, int]: ...
