import numpy as np

EMPTY_SLOT: int
MEMO_UNKNOWN: int
APPEND_OK: int
APPEND_BAD_STRING: int
APPEND_BAD_RECORD: int

def index_strings(
    blob: np.ndarray, p: int, slot_off: np.ndarray, slot_hash: np.ndarray, count: int
) -> tuple[int, int]: ...
def rehash(slot_off: np.ndarray, slot_hash: np.ndarray, new_off: np.ndarray, new_hash: np.ndarray) -> None: ...
def intern_offsets(
    offs: np.ndarray,
    srcs: np.ndarray,
    k: int,
    own_all: np.ndarray,
    blob_start: np.ndarray,
    own_start: np.ndarray,
    base_blob: np.ndarray,
    out: np.ndarray,
    out_len: int,
    dst_start: int,
    slot_off: np.ndarray,
    slot_hash: np.ndarray,
    count: int,
) -> tuple[int, int, int, int]: ...
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
    base_blob: np.ndarray,
    own_memo: np.ndarray,
    base_memo: np.ndarray,
    out: np.ndarray,
    out_len: int,
    dst_start: int,
    slot_off: np.ndarray,
    slot_hash: np.ndarray,
    count: int,
    tid_first: np.ndarray,
    tid_stride: np.ndarray,
    tid_fixed: np.ndarray,
    tid_per_vlen: np.ndarray,
    str_stride: np.ndarray,
    str_per_vlen: np.ndarray,
) -> tuple[int, int, int, int, int, int]: ...
