"""btfdedup: read, deduplicate, merge, validate and write BTF (BPF Type Format).

The public API is the names in ``__all__``: functions are verbs
(:func:`load`, :func:`merge`, :func:`dedup`, :func:`split`, :func:`sort`,
:func:`validate`, :func:`stats`, :func:`dump`, :func:`distill`, :func:`relocate`) and the
subpackages that implement them are nouns
(:mod:`btfdedup.engine` dedups, :mod:`btfdedup.verifier` validates,
:mod:`btfdedup.append` merges, :mod:`btfdedup.render` dumps,
:mod:`btfdedup.statistics` counts), so no function hides a module.  Each name is
imported on first use, so ``import btfdedup`` alone costs next to nothing: numpy
and the compiled core come with the first name that needs them.

Types are named by their BTF type IDs everywhere (see :class:`Btf`): ``btf[type_id]``
is a read-only view of one type, ``len(btf)`` counts the object's own types and
``for t in btf`` visits them in ID order.  The examples read the fixtures under
``corpora/`` and run, as doctests, from the repository root.

>>> import btfdedup
>>> user = btfdedup.load("corpora/bpf/fwd_user.bpf.o")     # raw, ELF, .ko(.xz/.zst/.gz), sysfs
>>> owner = btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
>>> result = btfdedup.dedup(btfdedup.merge([user, owner])) # libbpf btf__add_btf + btf__dedup
>>> len(user) + len(owner), len(result.btf)
(65, 52)
>>> result.btf[result.btf.find_by_name("shared_state")[0]].kind  # the FWD resolved to the STRUCT
<Kind.STRUCT: 4>
>>> base = btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz")
>>> mod = btfdedup.split(btfdedup.load("corpora/modules/8021q.btf", base=base), base)
>>> len(mod), btfdedup.validate(mod)                      # split BTF the kernel accepts
(139, [])
"""

from __future__ import annotations

import btfdedup.cli.interrupt  # noqa: F401  (the CLI's Ctrl-C handler, first: before any slow import)

# What type checkers and IDEs see.  At run time each name is imported by
# ``__getattr__`` below, from the module ``_LAZY`` names (the same ones).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from btfdedup.append import merge
    from btfdedup.engine import DedupResult
    from btfdedup.errors import (
        BtfError,
        BtfExtFormatError,
        BtfFormatError,
        BtfUsageError,
        DedupError,
        ElfError,
        KernelError,
        MissingBaseError,
        ValidationError,
    )
    from btfdedup.explain.diff import diff
    from btfdedup.explain.dups import find_duplicates
    from btfdedup.explain.equiv import equivalence
    from btfdedup.format.constants import Kind
    from btfdedup.io.load import load
    from btfdedup.model.btf import Btf
    from btfdedup.model.name_order import sort
    from btfdedup.model.view import ArrayInfo, EnumValue, IntInfo, Member, Param, TypeView, VarSecInfo
    from btfdedup.render import dump
    from btfdedup.statistics import BtfStats, KindStats, stats
    from btfdedup.strategies import dedup
    from btfdedup.verifier import Problem, ProblemList, validate
    from btfdedup.workflows.distill import Distilled, distill
    from btfdedup.workflows.relocate import relocate

__version__ = "0.1.0"


def split(module: Btf, base: Btf, *, libbpf_version: str | None = None) -> Btf:
    """``module`` deduplicated against ``base``: split BTF on ``base``, what
    ``btfdedup split`` writes for one module, with the bytes of libbpf
    ``libbpf_version`` ("1.1", "1.6", "1.7" or "1.8"; None: the default profile, see
    :mod:`btfdedup.engine.profiles`).

    ``module`` is either split BTF on ``base`` (a shipped ``.ko``'s ``.BTF``,
    loaded with ``base=``), deduplicated as libbpf's ``btf__parse_split`` +
    ``btf__dedup`` would, or standalone BTF, first appended onto ``base``
    (``btf__new_empty_split`` + ``btf__add_btf``) as ``pahole --btf_base`` does.
    Types equal to base types become references to the base IDs; the rest are
    numbered from ``base.type_cnt``.

    >>> import btfdedup
    >>> base = btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz")
    >>> mod = btfdedup.load("corpora/modules/8021q.btf", base=base)
    >>> out = btfdedup.split(mod, base)
    >>> len(mod), len(out), out.start_id == base.type_cnt
    (151, 139, True)
    >>> cu = btfdedup.load("corpora/cus/cu1412.btf")    # standalone: every type is in vmlinux
    >>> len(cu), len(btfdedup.split(cu, base))
    (690, 0)
    """
    from btfdedup.workflows.split import dedup_against_base

    if libbpf_version is None:
        return dedup_against_base(module, base)
    return dedup_against_base(module, base, libbpf_version=libbpf_version)


__all__ = [
    "ArrayInfo",
    "Btf",
    "BtfError",
    "BtfExtFormatError",
    "BtfFormatError",
    "BtfStats",
    "BtfUsageError",
    "DedupError",
    "DedupResult",
    "Distilled",
    "ElfError",
    "EnumValue",
    "IntInfo",
    "KernelError",
    "Kind",
    "KindStats",
    "Member",
    "MissingBaseError",
    "Param",
    "Problem",
    "ProblemList",
    "TypeView",
    "ValidationError",
    "VarSecInfo",
    "__version__",
    "dedup",
    "diff",
    "distill",
    "dump",
    "equivalence",
    "find_duplicates",
    "load",
    "merge",
    "relocate",
    "sort",
    "split",
    "stats",
    "validate",
]

#: Where each name of ``__all__`` lives: imported on first use (PEP 562), so
#: ``import btfdedup`` (and the command line's ``--help``, ``kernel list``) does
#: not pay for numpy and the compiled core until a function that needs them is used.
_LAZY: dict[str, str] = {
    "merge": "btfdedup.append",
    "DedupResult": "btfdedup.engine",
    "dedup": "btfdedup.strategies",
    "BtfError": "btfdedup.errors",
    "BtfExtFormatError": "btfdedup.errors",
    "BtfFormatError": "btfdedup.errors",
    "BtfUsageError": "btfdedup.errors",
    "DedupError": "btfdedup.errors",
    "ElfError": "btfdedup.errors",
    "KernelError": "btfdedup.errors",
    "MissingBaseError": "btfdedup.errors",
    "ValidationError": "btfdedup.errors",
    "diff": "btfdedup.explain.diff",
    "find_duplicates": "btfdedup.explain.dups",
    "equivalence": "btfdedup.explain.equiv",
    "Kind": "btfdedup.format.constants",
    "load": "btfdedup.io.load",
    "Btf": "btfdedup.model.btf",
    "sort": "btfdedup.model.name_order",
    "ArrayInfo": "btfdedup.model.view",
    "EnumValue": "btfdedup.model.view",
    "IntInfo": "btfdedup.model.view",
    "Member": "btfdedup.model.view",
    "Param": "btfdedup.model.view",
    "TypeView": "btfdedup.model.view",
    "VarSecInfo": "btfdedup.model.view",
    "dump": "btfdedup.render",
    "BtfStats": "btfdedup.statistics",
    "KindStats": "btfdedup.statistics",
    "stats": "btfdedup.statistics",
    "Problem": "btfdedup.verifier",
    "ProblemList": "btfdedup.verifier",
    "validate": "btfdedup.verifier",
    "Distilled": "btfdedup.workflows.distill",
    "distill": "btfdedup.workflows.distill",
    "relocate": "btfdedup.workflows.relocate",
}


def __getattr__(name: str) -> object:
    """A name of ``__all__`` not imported yet: import its module, keep the value as a
    global of this package (later lookups do not come here) and return it."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'btfdedup' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """What the package defines, including the names not imported yet."""
    return sorted(set(globals()) | set(__all__))
