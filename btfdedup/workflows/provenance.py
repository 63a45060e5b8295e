"""Provenance: which output type each input type became (``--map FILE``).

A dedup run folds many inputs into one BTF in two steps, and the map composes them:

* the merge (``btf__add_btf`` into a fresh BTF, :mod:`btfdedup.append`) appends each
  input's own types after the previous inputs', in input order, so the own type ``i``
  of an input whose first own ID is ``s`` becomes merged ID ``m + (i - s)``, ``m``
  being where that input's block starts;
* the dedup's ``type_map`` (:class:`btfdedup.engine.DedupResult`) sends each merged ID
  to its output ID.

Only an input's own types are listed: the types of its base belong to the base file,
and a split dedup never changes them.  Users remap what they hold by type ID (map keys
and values, CO-RE relocations, their own tables) with it; the libbpf API gives no such
map (an upstream RFC asks ``btf__dedup`` for it).

The file is JSON lines, ``{"input": FILE, "id": ID, "output_id": ID}`` per type, or CSV
with the header ``input,id,output_id`` (``--map-format csv``), written through
:mod:`btfdedup.io.writer` like every other output.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from btfdedup.errors import CommandLineError
from btfdedup.model.btf import Btf

#: the accepted ``--map-format`` values
MAP_FORMATS = ("jsonl", "csv")

#: rows formatted per chunk: bounds the text held at once on a 3.4 M-type input
_CHUNK = 1 << 18


@dataclass(frozen=True)
class InputMap:
    """Where one input's own types went."""

    #: the input as the user named it
    path: str
    #: the input's first own type ID (1 for standalone BTF, after its base for split BTF)
    first_id: int
    #: ``output_ids[k]`` is the output type ID of input type ``first_id + k``
    output_ids: np.ndarray

    def output_id(self, type_id: int) -> int:
        """The output ID of the input's own type ``type_id``."""
        k = type_id - self.first_id
        if not 0 <= k < len(self.output_ids):
            raise IndexError(f"{self.path}: type [{type_id}] is not one of its own types "
                             f"[{self.first_id}, {self.first_id + len(self.output_ids)})")
        return int(self.output_ids[k])


def input_maps(inputs: Sequence[tuple[str, Btf]], merged_start: int, type_map: np.ndarray) -> list[InputMap]:
    """The map of each input, from the merged BTF's first own ID (``merged_start``:
    where the merge began appending) and the dedup's ``type_map`` over the merged IDs.
    With one input deduplicated as it is (no merge), ``merged_start`` is its own
    ``start_id`` and the arithmetic is the same."""
    out = []
    at = merged_start
    for path, btf in inputs:
        n = int(btf.nr_types)
        out.append(InputMap(path, int(btf.start_id), np.asarray(type_map[at:at + n], dtype=np.uint32)))
        at += n
    if at > len(type_map):
        raise ValueError(f"the inputs hold {at - merged_start} types from [{merged_start}], "
                         f"the dedup's map only {len(type_map)} IDs")
    return out


def check_map_output(map_output: str, map_format: str, outputs: Sequence[str]) -> None:
    """The command-line errors of ``--map`` (exit 2), found before any input is read: an
    unknown format, or a map file that is one of the run's other ``outputs``."""
    if map_format not in MAP_FORMATS:
        raise CommandLineError(f"unknown map format {map_format!r} (known: {', '.join(MAP_FORMATS)})")
    same = {os.path.abspath(o) for o in outputs}
    if os.path.abspath(map_output) in same:
        raise CommandLineError(f"--map {map_output}: the same file as a BTF output")


def _jsonl_chunk(path_json: str, ids: np.ndarray, outs: np.ndarray) -> str:
    head = '{"input": ' + path_json + ', "id": '
    return "".join(f'{head}{i}, "output_id": {o}}}\n' for i, o in zip(ids.tolist(), outs.tolist(), strict=True))


def _csv_chunk(path_csv: str, ids: np.ndarray, outs: np.ndarray) -> str:
    return "".join(f"{path_csv},{i},{o}\n" for i, o in zip(ids.tolist(), outs.tolist(), strict=True))


def _csv_field(s: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([s])
    return buf.getvalue()


def map_chunks(maps: Iterable[InputMap], fmt: str = "jsonl") -> Iterable[bytes]:
    """The map file's content, in pieces of bounded size (``fmt``: ``jsonl`` or ``csv``)."""
    if fmt not in MAP_FORMATS:
        raise ValueError(f"unknown map format {fmt!r} (known: {', '.join(MAP_FORMATS)})")
    if fmt == "csv":
        yield b"input,id,output_id\n"
    for m in maps:
        quoted = json.dumps(m.path) if fmt == "jsonl" else _csv_field(m.path)
        chunk = _jsonl_chunk if fmt == "jsonl" else _csv_chunk
        for k in range(0, len(m.output_ids), _CHUNK):
            outs = m.output_ids[k:k + _CHUNK]
            ids = np.arange(m.first_id + k, m.first_id + k + len(outs), dtype=np.int64)
            yield chunk(quoted, ids, outs).encode()


__all__ = ["MAP_FORMATS", "InputMap", "check_map_output", "input_maps", "map_chunks"]
