"""Checks of :class:`~btfdedup.strategies.registry.StrategyOptions` shared by the
structural strategies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from btfdedup.errors import BtfUsageError

if TYPE_CHECKING:
    from btfdedup.strategies.registry import StrategyOptions


def no_ext(options: StrategyOptions, name: str) -> None:
    """Refuse a .BTF.ext: only the ``libbpf`` strategy remaps one."""
    if options.ext is not None:
        raise BtfUsageError(f"strategy {name!r} does not rewrite .BTF.ext (--ext needs --strategy libbpf)")
