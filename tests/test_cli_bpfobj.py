"""``btfdedup dedup --finalize-datasec`` and ``--link`` as a user runs them, judged by
the committed outputs of libbpf itself: v1.6's dedup of the objects as libbpf 1.1.2's
object open leaves them (``open_finalized_merge_v16.json``) and libbpf 1.1.2's static
linker (``link.json``).  The library calls behind them have their own suites
(test_bpfobj_open.py, test_bpfobj_link.py); these check the verb's wiring, its
files and its refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from btfdedup.cli.main import main
from tests._kernel_probe import kernel_verdict, probe_skip_reason
from tests.conftest import FIXTURES, REPO

EXPECTED = REPO / "tests" / "expected"
BPF = FIXTURES / "bpf"


def _entry(family: str, key: str) -> dict:  # type: ignore[type-arg]
    doc = json.loads((EXPECTED / f"{family}.json").read_text())
    assert key in doc["entries"], f"no committed expectation {key!r} in tests/expected/{family}.json"
    return dict(doc["entries"][key])


def _digest(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_finalize_datasec_equals_libbpf_open_then_dedup(tmp_path: Path) -> None:
    out = tmp_path / "out.btf"
    objs = [str(BPF / "fwd_user.bpf.o"), str(BPF / "fwd_owner.bpf.o")]
    assert main(["dedup", "--finalize-datasec", *objs, "-o", str(out)]) == 0
    want = _entry("open_finalized_merge_v16", "corpora/bpf/{fwd_user,fwd_owner}.bpf.o::open,add_btf,dedup")
    assert _digest(out) == {"sha256": want["sha256"], "size": want["size"]}


def test_finalize_datasec_over_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "out.btf"
    assert main(["dedup", "--finalize-datasec", str(FIXTURES / "bpf-objects"), "-o", str(out)]) == 0
    want = _entry("open_finalized_merge_v16", "corpora/bpf-objects/*.o (sorted)::open,add_btf,dedup")
    assert _digest(out) == {"sha256": want["sha256"], "size": want["size"]}


def test_finalized_merge_loads_and_the_plain_merge_does_not(tmp_path: Path) -> None:
    """What the flag is for: the kernel refuses clang's DATASECs of size 0 and accepts
    the finalized merge."""
    reason = probe_skip_reason()
    if reason:
        pytest.skip(reason)
    plain, final = tmp_path / "plain.btf", tmp_path / "final.btf"
    objs = str(FIXTURES / "bpf-objects")
    assert main(["dedup", objs, "-o", str(plain)]) == 0
    assert main(["dedup", "--finalize-datasec", objs, "-o", str(final)]) == 0
    assert not kernel_verdict(plain.read_bytes())[0]
    accepted, err, log = kernel_verdict(final.read_bytes())
    assert accepted, (err, log)


def test_finalize_datasec_refuses_raw_btf_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cu = str(FIXTURES / "cus" / "cu1412.btf")
    assert main(["dedup", "--finalize-datasec", cu, "-o", str(tmp_path / "o.btf")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"btfdedup: error: {cu}: --finalize-datasec needs an ELF object (its sections and symbols); "
                   "this is raw BTF"]
    assert not (tmp_path / "o.btf").exists()


def test_link_equals_the_static_linker(tmp_path: Path) -> None:
    out = tmp_path / "linked.btf"
    objs = ["corpora/bpf/fwd_user.bpf.o", "corpora/bpf/fwd_owner.bpf.o"]
    assert main(["dedup", "--link", *(str(REPO / o) for o in objs), "--ext", "-o", str(out)]) == 0
    want = _entry("link", "+".join(objs))
    assert _digest(out) == want["btf"]
    assert _digest(Path(str(out) + ".ext")) == want["ext"]


def test_link_refusal_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two objects that both define the same strong global (``events``): the linker refuses."""
    objs = ["corpora/bpf-objects/bashreadline.bpf.o", "corpora/bpf-objects/opensnoop.bpf.o"]
    want = _entry("link", "+".join(objs))
    assert "errno" in want, want
    out = tmp_path / "linked.btf"
    assert main(["dedup", "--link", *(str(REPO / o) for o in objs), "-o", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("btfdedup: error: ") and "static linker rule:" in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", [["--base", "x.btf"], ["--finalize-datasec"], ["--keep-going"],
                                  ["--force-collisions"]])
def test_link_does_not_combine_with_merge_options(flag: list[str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dedup", "--link", str(BPF / "fwd_user.bpf.o"), *flag, "-o", str(tmp_path / "o.btf")]) == 2
    assert capsys.readouterr().err.startswith(f"btfdedup: error: --link does not combine with {flag[0]}")
