import numpy as np

from btfdedup.model.strindex import StringIndex

MEMO_UNKNOWN: int
APPEND_OK: int
APPEND_BAD_STRING: int
APPEND_BAD_RECORD: int
APPEND_NO_MEMORY: int
APPEND_TOO_LARGE: int

def index_output(index: StringIndex, out: np.ndarray, out_len: int) -> None: ...
def intern_offsets(
    offs: np.ndarray,
    srcs: np.ndarray,
    k: int,
    own_all: np.ndarray,
    blob_start: np.ndarray,
    own_start: np.ndarray,
    index: StringIndex,
    out: np.ndarray,
    out_len: int,
) -> tuple[int, int, int]: ...
def append_types(
    words: np.ndarray,
    type_start: np.ndarray,
    t: int,
    t_end: int,
    jf: int,
    src_start_id: int,
    delta: int,
    own_blob: np.ndarray,
    own_start: int,
    own_memo: np.ndarray,
    base_memo: np.ndarray,
    index: StringIndex,
    out: np.ndarray,
    out_len: int,
    tid_first: np.ndarray,
    tid_stride: np.ndarray,
    tid_fixed: np.ndarray,
    tid_per_vlen: np.ndarray,
    str_stride: np.ndarray,
    str_per_vlen: np.ndarray,
) -> tuple[int, int, int, int, int]: ...
