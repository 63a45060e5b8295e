import numpy as np

META_REASONS: dict[int, tuple[str, int]]
LIMITS: dict[str, int]
META_LEFT: int
META_KIND: int
META_MAX_TYPES: int
CTX_NONE: int
CTX_MEMBER: int
CTX_VALUE: int
CTX_ENTRY_TYPE: int

def check_metas(
    words: np.ndarray,
    type_len: int,
    starts: np.ndarray,
    last_truncated: bool,
    base_strings: np.ndarray,
    own_strings: np.ndarray,
    char_classes: np.ndarray,
    fixed_words: np.ndarray,
    vlen_words: np.ndarray,
    ksym_name_len: int,
    printable_sections: bool,
    info_mask: int,
    vlen_mask: int,
    kind_mask: int,
    kind_max: int,
    type_tag_kflag: bool,
    decl_tag_kflag: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def structs_using(
    words: np.ndarray,
    starts: np.ndarray,
    structs: np.ndarray,
    vlen: np.ndarray,
    wanted: np.ndarray,
    start_id: int,
) -> np.ndarray: ...
