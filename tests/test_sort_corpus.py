"""``sort`` of the big corpora against libbpf master's ``btf__permute``.

The Debian 6.1 kernel's shipped vmlinux ``.BTF`` (``modules-6.1/vmlinux.btf``) and every
module of ``modules-6.1/split.tar.xz``, each sorted on that base as ``resolve_btfids -b
vmlinux`` sorts in-tree modules: our bytes equal libbpf master's ``btf__permute`` with
resolve_btfids' id_map (computed independently, :func:`tests.test_sort.resolve_btfids_map`),
live where ``$BTFDEDUP_LIBBPF_MASTER`` is set, else the sha256 committed in
``tests/expected/sort/permute_master_corpus.json``.  Every sorted module also passes
libbpf's ``btf_check_sorted`` rule and btfdedup's offline kernel rules; the sorted vmlinux
loads with ``BPF_BTF_LOAD``.  Marked ``corpus``: run with ``pytest -m corpus``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

import btfdedup
from btfdedup.model.name_order import name_order_map, named_start_id, sort
from tests._kernel_probe import kernel_verdict, probe_skip_reason
from tests.expected import Family
from tests.test_sort import LIBBPF_MASTER, MAKE_SORT, resolve_btfids_map

pytestmark = pytest.mark.corpus

#: btf__permute (libbpf master) by resolve_btfids' map, of the big corpora
PERMUTE_MASTER_CORPUS = Family("sort/permute_master_corpus", LIBBPF_MASTER, MAKE_SORT)


@pytest.fixture(scope="module")
def modules_61(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[Path]]:
    d = corpora_dir / "modules-6.1"
    dest = tmp_path_factory.getbasetemp() / "sort-split"
    if not dest.exists():
        with tarfile.open(d / "split.tar.xz") as tf:
            tf.extractall(dest, filter="data")
    return (d / "vmlinux.btf").read_bytes(), sorted((dest / "split").glob("*.btf"))


def test_vmlinux_61(modules_61: tuple[bytes, list[Path]]) -> None:
    data, _ = modules_61
    btf = btfdedup.load(data)
    id_map = resolve_btfids_map(data)
    assert name_order_map(btf).tolist() == id_map
    out = sort(btf).to_bytes()
    PERMUTE_MASTER_CORPUS.check("modules-6.1/vmlinux.btf::sort", out, lambda lib: lib.permute_bytes(data, id_map),
                                inputs=data)
    assert named_start_id(btfdedup.load(out)) > 0
    reason = probe_skip_reason()
    if reason:
        pytest.skip(f"kernel load not checked: {reason}")
    ok, err, log = kernel_verdict(out)
    assert ok, f"kernel rejects the sorted vmlinux: errno {err}: {log[-300:]}"


def test_every_module_on_vmlinux_61(modules_61: tuple[bytes, list[Path]]) -> None:
    base_data, paths = modules_61
    assert len(paths) == 1121
    base = btfdedup.load(base_data)
    for path in paths:
        data = path.read_bytes()
        mod = btfdedup.load(data, base=base)
        id_map = resolve_btfids_map(data, base_data)
        assert name_order_map(mod).tolist() == id_map, path.name
        out = sort(mod)
        PERMUTE_MASTER_CORPUS.check(f"modules-6.1/split/{path.name}::sort", out.to_bytes(),
                                    lambda lib, d=data, m=id_map: lib.permute_bytes(d, m, base_data),
                                    inputs=[data, base_data])
        named = any(mod.strings.get(int(o)) for o in mod.name_off)
        assert (named_start_id(out) >= out.start_id) == (len(mod) >= 2 and named), path.name
        assert btfdedup.validate(out) == [], path.name
