import numpy as np
from typing_extensions import Buffer as _Buffer

#: What a typed memoryview argument takes: any buffer of the right item type.
Buffer = _Buffer | np.ndarray

def string_ranks(blob: Buffer, offsets: Buffer) -> np.ndarray: ...
