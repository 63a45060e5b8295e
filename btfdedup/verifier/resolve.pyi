import numpy as np

MAX_RESOLVE_DEPTH: int
R_TYPE_ID: int
R_INDEX: int
R_ELEM: int
R_ARRAY_OF_INT: int
R_ARRAY_OVERFLOW: int
R_MEMBER: int
R_BITS_OFFSET_U32: int
R_NR_COPY_BITS: int
R_EXCEEDS: int
R_BASE_TYPE: int
R_MEMBER_OFFSET: int
R_BITFIELD: int
R_NOT_BYTE_ALIGNED: int
R_NOT_ALIGNED: int
R_UNSUPPORTED_MEMBER: int
R_UNSUPPORTED_KFLAG_MEMBER: int
R_UNSUPPORTED_RESOLVE: int
R_NOT_VAR: int
R_VSI_TYPE: int
R_VSI_SIZE: int
R_COMPONENT_IDX: int
R_RETURN_TYPE: int
R_ARG: int
R_DEPTH: int
R_LOOP: int
R_RESOLVE_STATE: int
R_INTERNAL: int
REASONS: dict[int, str]
MEMBER_REASONS: frozenset[int]
ENTRY_REASONS: frozenset[int]

def resolve_all(
    kind: np.ndarray,
    info: np.ndarray,
    st: np.ndarray,
    words: np.ndarray,
    tstart: np.ndarray,
    bad_param: np.ndarray,
    fixed_words: np.ndarray,
    vlen_words: np.ndarray,
    stop_at_first: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def errno_of(code: int) -> int: ...
