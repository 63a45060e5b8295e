from typing import Any

import numpy as np

UNPROCESSED_ID: int
FALLBACK_IDENTICAL_ARRAYS_STRUCTS: int
FALLBACK_IDENTICAL_TYPES: int
TYPEDEF_AS_REFERENCE: int
TYPEDEF_AS_COMPOSITE: int
TYPEDEF_AS_COMPOSITE_BASE: int
ERRORS: dict[int, str]
PY_DEDUP_OK: int
PY_ERR_NOMEM: int
PY_ERR_UNKNOWN_KIND: int
PY_ERR_EQUIV_KIND: int
PY_ERR_IDENTICAL_LOOP: int
PY_ERR_REF_LOOP: int
PY_ERR_REF_KIND: int
PY_ERR_REMAP: int

class PreparedBase:
    base: Any
    start_id: int
    base_words: int
    typedef_mode: int
    prep_err: int
    prep_bad: int
    strings: Any
    def __init__(self, base: Any, W_buf: Any, ts_buf: Any, kinds_buf: Any, base_words: int,
                 strings: Any) -> None: ...
    def adopt(self, d: DedupState) -> None: ...
    def working(self, words: Any, type_start: Any, kind: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                     np.ndarray, np.ndarray]: ...
    @property
    def in_use(self) -> bool: ...

class DedupState:
    W_arr: np.ndarray
    ts_arr: np.ndarray
    kinds_arr: np.ndarray
    mp_arr: np.ndarray
    hyp_arr: np.ndarray
    start_id: int
    type_cnt: int
    nr_words: int
    has_table: bool
    identical_fallback: int
    typedef_mode: int
    fixed_arrays: bool
    prepared: PreparedBase | None
    str_buf: Any
    str_start_off: int
    ext_str_refs: Any
    base_strings: Any
    strings_data: Any
    kept: Any
    new_id: Any
    out_words: Any
    out_starts: Any
    final: Any
    err: int
    err_a: int
    err_b: int
    def __init__(self, W: Any, ts: Any, kinds: Any, start_id: int, *, identical_fallback: int = ...,
                 typedef_mode: int = ..., fixed_arrays: bool = ..., table_hint: int = ..., mp: Any = ..., hyp: Any = ...,
                 prepared: PreparedBase | None = ...) -> None: ...
    def drop_table(self) -> None: ...
    @property
    def table_len(self) -> int: ...
    def candidates(self, key: int) -> list[int]: ...
    def table_type_ids(self) -> np.ndarray: ...
