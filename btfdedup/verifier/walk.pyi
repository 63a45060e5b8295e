import numpy as np

WALK_OK: int
WALK_HEADER_SHORT: int
WALK_BAD_KIND: int
WALK_TAIL_SHORT: int

def walk_records(
    words: np.ndarray,
    type_len: int,
    vlen_mask: int,
    kind_mask: int,
    kind_max: int,
    fixed_words: np.ndarray,
    vlen_words: np.ndarray,
) -> tuple[np.ndarray, int, int]: ...
def record_columns(words: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
