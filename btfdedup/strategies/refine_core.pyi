import numpy as np

def record_hashes(words: np.ndarray, start: np.ndarray, salt: int) -> np.ndarray: ...
def signature_hashes(colour: np.ndarray, csr: np.ndarray, dst: np.ndarray, salt: int) -> np.ndarray: ...
def densify(keys: np.ndarray) -> tuple[np.ndarray, int]: ...
def first_unstable(
    words: np.ndarray,
    start: np.ndarray,
    colour: np.ndarray,
    rep: np.ndarray,
    csr: np.ndarray,
    dst: np.ndarray,
    skip: np.ndarray,
) -> int: ...
def bottom_up_hashes(shallow: np.ndarray, csr: np.ndarray, dst: np.ndarray) -> np.ndarray: ...
def field_positions(
    words: np.ndarray,
    start: np.ndarray,
    tid_first: object,
    tid_stride: object,
    tid_fixed: object,
    tid_per_vlen: object,
    str_stride: object,
    str_per_vlen: object,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def class_minimum(colour: np.ndarray, count: int, nodes: np.ndarray) -> np.ndarray: ...
