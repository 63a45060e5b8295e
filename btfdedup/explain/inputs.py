"""The two inputs of a comparison (``diff``, ``equiv``), each on its own base."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf


def load_pair(a: str, b: str, base_a: str | None, base_b: str | None) -> tuple[Btf, Btf]:
    """A and B, each split on its base when one is named (a base named for both is read once)."""
    from btfdedup.io.load import load

    ba = load(base_a) if base_a else None
    bb = (ba if base_b == base_a else load(base_b)) if base_b else None
    return load(a, base=ba), load(b, base=bb)
