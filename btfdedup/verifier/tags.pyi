import numpy as np

TAGS_OK: int
TAGS_CHAIN: int
TAGS_ORDER: int
TAGS_MISSING: int
TAG_REASONS: dict[int, tuple[str, int]]

def type_tag_chains(
    kind: np.ndarray, ref: np.ndarray, start_id: int, stop_at_first: bool
) -> tuple[np.ndarray, np.ndarray]: ...
