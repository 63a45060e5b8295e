"""The ``sort`` workflow: one BTF file -> the same types in the kernel's name order.

``resolve_btfids`` (Linux 2026) re-orders vmlinux and module BTF by name with
libbpf's ``btf__permute`` before embedding it; :func:`sort_file` does the same to
a file (the order and the renumbering are :mod:`btfdedup.model.name_order` and
:mod:`btfdedup.model.permute`).  A split input (a module) is read on ``base`` and
only its own types move.  With ``ext`` the input's ``.BTF.ext`` is remapped too and
written to ``OUT.ext``; both files are staged and put in place together
(:class:`btfdedup.io.writer.OutputSet`).

:func:`sorted_outputs` is the step ``dedup --sort`` and ``split --sort`` apply to
their results before writing them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from btfdedup.errors import BtfUsageError, CommandLineError
from btfdedup.io.writer import OutputSet, check_output
from btfdedup.model.btf import Btf
from btfdedup.workflows.inputs import check_outputs, load_input, protected_paths

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.ext import BtfExt


def sorted_outputs(btf: Btf, ext: BtfExt | None = None) -> tuple[Btf, BtfExt | None]:
    """``btf`` in the kernel's name order and ``ext`` remapped with it (None stays None):
    libbpf ``btf__permute`` by ``resolve_btfids``'s map."""
    out, out_ext, _mapping = sorted_with_map(btf, ext)
    return out, out_ext


def sorted_with_map(btf: Btf, ext: BtfExt | None = None) -> tuple[Btf, BtfExt | None, np.ndarray]:
    """:func:`sorted_outputs` and the renumbering it applied, over every type ID of
    ``btf`` (``mapping[old] == new``; void and base IDs map to themselves): what a
    provenance map (``--map``) composes with the dedup's own map."""
    from btfdedup.model.name_order import name_order_map
    from btfdedup.model.permute import full_map, permute

    id_map = name_order_map(btf)
    out = permute(btf, id_map, ext=ext)
    return out, out.ext, full_map(btf, id_map)


def check_arguments(output: str, *, ext: bool = False) -> None:
    """The command-line errors of a run (exit 2), found before any file is read:
    ``-o -`` with ``ext`` (two files) or on a terminal; also refuses an output in a
    missing directory or that is a directory."""
    check_output(output, not_stdout="--ext writes two files, OUT and OUT.ext; give a file name" if ext else None)
    if ext and os.path.exists(output) and not os.path.isfile(output):
        raise CommandLineError(f"{output}: --ext writes a second file next to OUT ({output}.ext): give a regular file")


@dataclass
class SortRun:
    """What one ``sort`` run did, for the summary line / JSON."""

    input: str
    output: str
    ext_output: str | None
    split: bool
    types: int
    moved: int
    named_start_id: int
    bytes_out: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": self.output,
            "ext_output": self.ext_output,
            "split": self.split,
            "types": self.types,
            "moved": self.moved,
            "named_start_id": self.named_start_id,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 6),
        }


def sort_file(path: str, output: str, *, base: Btf | None = None, base_path: str | None = None,
              ext: bool = False, map_output: str | None = None, map_format: str = "jsonl") -> SortRun:
    """Sort the BTF of ``path`` (split on ``base`` when it is split BTF) by name and
    write it to ``output`` by :mod:`btfdedup.io.writer`'s rule; with ``ext`` also its
    remapped ``.BTF.ext`` to ``output.ext``; with ``map_output`` the provenance map
    (each own type's new ID, :mod:`btfdedup.workflows.provenance`) in ``map_format``."""
    import numpy as np

    from btfdedup.model.name_order import first_named_id, name_order_map
    from btfdedup.model.permute import permute

    t0 = time.perf_counter()
    check_arguments(output, ext=ext)
    protect = protected_paths([path], base_path)
    outputs = [output, output + ".ext"] if ext else [output]
    if map_output is not None:
        from btfdedup.workflows.provenance import check_map_output

        check_map_output(map_output, map_format, outputs)
        outputs.append(map_output)
    check_outputs(outputs, protect)
    btf = load_input(path, base)
    if ext and btf.ext is None:
        raise BtfUsageError(f"{path}: has no .BTF.ext")
    id_map = name_order_map(btf)
    own_map = id_map if btf.base is not None else id_map[1:]
    out = permute(btf, id_map, ext=btf.ext if ext else None)
    data = out.to_bytes()
    with OutputSet(protect) as written:
        if ext:
            assert out.ext is not None
            written.add(output + ".ext", out.ext.to_bytes())
        if map_output is not None:
            from btfdedup.workflows.provenance import InputMap, map_chunks

            own = InputMap(path, btf.start_id, np.asarray(own_map, dtype=np.uint32))
            written.add(map_output, b"".join(map_chunks([own], map_format)))
        written.add(output, data)
        written.commit()
    return SortRun(
        input=path,
        output=output,
        ext_output=output + ".ext" if ext else None,
        split=btf.base is not None,
        types=btf.nr_types,
        moved=int(np.count_nonzero(own_map != btf.type_ids)),
        # sorted by construction: libbpf's btf_check_sorted finds the first named type
        named_start_id=first_named_id(out) if out.nr_types >= 2 else 0,
        bytes_out=len(data),
        seconds=time.perf_counter() - t0,
    )
