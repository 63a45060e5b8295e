import numpy as np
from typing_extensions import Buffer as _Buffer

#: What a typed memoryview argument takes: any buffer of the right item type.
Buffer = _Buffer | np.ndarray

def reorder_records(
    words: Buffer,
    type_start: Buffer,
    order: Buffer,
    mapping: Buffer,
    start_id: int,
    tid_first: Buffer,
    tid_stride: Buffer,
    tid_fixed: Buffer,
    tid_per_vlen: Buffer,
) -> tuple[np.ndarray, np.ndarray, int, int]: ...
