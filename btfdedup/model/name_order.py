"""The kernel's type order: every type sorted by name, as ``resolve_btfids`` does.

Since 2026 the kernel build re-orders vmlinux and module BTF by name before
embedding it (``tools/bpf/resolve_btfids``: ``sort_btf_by_name``, with the total
comparator of kernel commit 5e6e1dc43a21), so that libbpf v1.7+ and the kernel can
look names up by binary search.  The rule, exactly:

* the types sorted are the object's own ones: for base BTF all IDs *including void*
  (ID 0), for split BTF IDs ``start_id .. type_cnt - 1`` (base types never move);
* the key is the name as a C string (``name_off`` resolved through the base chain;
  anonymous, or an offset of an empty string, is ``""``), compared with ``strcmp``:
  unsigned byte order, a proper prefix first.  Kind, size and everything else are
  ignored;
* equal names (all anonymous types among them) keep their original ID order.

So void stays 0, then come the anonymous types in original order, then the named
ones in byte order.  The new order is applied with libbpf's ``btf__permute``
(:func:`btfdedup.model.permute.permute`): strings untouched, every own type ID
remapped, ``.BTF.ext`` too.

The readers' side is :func:`named_start_id`: libbpf v1.7+ (``btf_check_sorted``,
at parse time) and the kernel treat an object as sorted when the names of its own
types never decrease in ID order, and then search from the first named type.

Names are ranked by content in compiled code (:func:`btfdedup.model.strrank.string_ranks`,
once per distinct offset) and the types ordered by a stable numpy sort of the ranks:
no Python object per type.
"""

from __future__ import annotations

import numpy as np

from btfdedup.model.btf import Btf
from btfdedup.model.permute import permute
from btfdedup.model.strrank import string_ranks


def name_ranks(btf: Btf) -> np.ndarray:
    """Rank of each own type's name (row order, int64): equal names share a rank,
    rank order is ``strcmp`` order, and ``""`` (anonymous) ranks lowest."""
    name_off = np.asarray(btf.name_off, dtype=np.int64)
    if not len(name_off):
        return np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(name_off, return_inverse=True)
    blob = np.frombuffer(btf.all_strings(), dtype=np.uint8)
    try:
        ranks = string_ranks(blob, uniq)
    except ValueError as e:
        from btfdedup.errors import BtfFormatError

        raise BtfFormatError(f"cannot order types by name: {e}", source=btf.source) from None
    return ranks[inverse.reshape(-1)]


def name_order_map(btf: Btf) -> np.ndarray:
    """The ``id_map`` ``resolve_btfids`` passes to ``btf__permute`` for ``btf``: old ID
    to new ID, ``type_cnt`` entries with ``[0] == 0`` for base BTF, ``nr_types``
    entries (own types, new IDs absolute) for split BTF (see the module docstring)."""
    start, n = btf.start_id, btf.nr_types
    order = np.argsort(name_ranks(btf), kind="stable")  # rows in new order; ties by old ID
    new_id = np.empty(n, dtype=np.int64)
    new_id[order] = np.arange(start, start + n, dtype=np.int64)
    if btf.base is None:
        return np.concatenate([np.zeros(1, dtype=np.int64), new_id])
    return new_id


def sort(btf: Btf) -> Btf:
    """``btf`` with its own types in the kernel's name order (``resolve_btfids``),
    renumbered as libbpf's ``btf__permute`` does: the bytes equal libbpf's for the
    same object.  Its ``.BTF.ext`` (:attr:`Btf.ext`), if any, is remapped too.

    Strings, header and base are untouched.  A split BTF is sorted on its base as
    given: to reproduce a 2026 kernel's modules, sort the vmlinux first and give the
    sorted one as their base.

    >>> import btfdedup
    >>> btf = btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
    >>> out = btfdedup.sort(btf)
    >>> [out[i].name for i in range(1, 4)], [out[i].name for i in range(out.type_cnt - 3, out.type_cnt)]
    (['', '', ''], ['states', 'unsigned int', 'unsigned long long'])
    >>> from btfdedup.model.name_order import named_start_id
    >>> named_start_id(btf), named_start_id(out)       # what libbpf's btf_check_sorted finds
    (0, 15)
    """
    return permute(btf, name_order_map(btf), ext=btf.ext)


def named_start_id(btf: Btf) -> int:
    """libbpf's ``btf_check_sorted`` verdict (v1.7+, also the kernel's for module and
    user BTF): the first own type ID with a name when the names of the own types never
    decrease in ID order (``strcmp``), else 0 (not sorted, or no named type)."""
    ranks = name_ranks(btf)
    if len(ranks) < 2 or bool(np.any(ranks[1:] < ranks[:-1])):
        return 0
    return first_named_id(btf)


def first_named_id(btf: Btf) -> int:
    """The first own type ID whose name is not empty, 0 when there is none."""
    blob = np.frombuffer(btf.all_strings(), dtype=np.uint8)
    named = np.flatnonzero(blob[np.asarray(btf.name_off, dtype=np.int64)] != 0)
    return int(named[0]) + btf.start_id if len(named) else 0
