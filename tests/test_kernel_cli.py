"""``btfdedup kernel list|get|load`` in a subprocess, judged by bpftool and the kernel.

* ``list`` / ``list --json`` must show what ``bpftool btf show`` / ``-j`` shows
  (IDs, names, sizes, kernel flag, prog/map IDs as sets);
* ``get`` must write the bytes the kernel serves in /sys/kernel/btf;
* ``load`` must report the kernel's verdict and, on rejection, the kernel's log;
* without privileges every verb fails with one ``btfdedup: error:`` line naming
  the missing capability — never a traceback.  Privileges are dropped with
  util-linux ``setpriv`` (uid 65534, empty capability sets) and with
  ``unshare -U`` (root only inside a user namespace); CI images need util-linux.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from btfdedup.kernel import btf_load, iter_btf_infos
from btfdedup.kernel.anchor import create_anchor_map, find_u32_int
from tests._kernel_helpers import (  # noqa: F401
    REPO,
    SYSFS_VMLINUX,
    bpf_ok,
    bpftool_show_json,
    cli_argv,
    cli_env,
    need_bpftool,
    run_cli,
    split_on,
    tiny_btf,
    vmlinux_bytes,
)

MODULES = REPO / "corpora" / "modules"
BASE_61_XZ = MODULES / "vmlinux-6.1.btf.xz"


def _norm_json(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {}
    for r in rows:
        r = dict(r)
        r["prog_ids"] = sorted(r["prog_ids"])
        r["map_ids"] = sorted(r["map_ids"])
        out[r["id"]] = r
    return out


def _norm_plain(text: str) -> list[str]:
    """bpftool prints prog/map IDs in hash-table order; we print them ascending."""

    def sort_ids(m: re.Match[str]) -> str:
        return m.group(1) + ",".join(sorted(m.group(2).split(","), key=int))

    return [re.sub(r"((?:prog|map)_ids )([\d,]+)", sort_ids, line) for line in text.splitlines()]


def _stable(fn_ref: Any, fn_ours: Any) -> tuple[Any, Any]:
    """(reference, ours) from a moment when the reference did not change around our run."""
    for _ in range(5):
        before = fn_ref()
        ours = fn_ours()
        if fn_ref() == before:
            return before, ours
    pytest.skip("BTF objects kept changing under us (other tests loading concurrently)")


# --------------------------------------------------------------------------- list


@pytest.mark.usefixtures("bpf_ok")
def test_list_json_matches_bpftool() -> None:
    """Judge: ``bpftool btf show -j``, or where it is absent the kernel's own answer read
    by tests/_kernel_helpers.kernel_btf_rows (live state cannot be committed)."""
    with btf_load(tiny_btf()) as fd, create_anchor_map(fd, find_u32_int(tiny_btf())):
        ref, ours = _stable(bpftool_show_json, lambda: run_cli("kernel", "list", "--json"))
        assert ours.returncode == 0, ours.stderr
        assert "\n" not in ours.stdout.rstrip("\n")  # compact, one line, like bpftool -j
        got = json.loads(ours.stdout)
        assert _norm_json(got) == _norm_json(ref)
        # Key order as bpftool emits it.
        assert [list(r) for r in got] == [list(r) for r in ref]
        assert _norm_json(got)[fd.id]["map_ids"], "the anchor map must show up under map_ids"


@pytest.mark.usefixtures("bpf_ok")
def test_list_plain_matches_bpftool() -> None:
    bpftool = need_bpftool()
    with btf_load(tiny_btf()) as fd, create_anchor_map(fd, find_u32_int(tiny_btf())):

        def ref() -> str:
            return subprocess.run([bpftool, "btf", "show"], capture_output=True, text=True, check=True).stdout

        want, ours = _stable(ref, lambda: run_cli("kernel", "list"))
        assert ours.returncode == 0, ours.stderr
        assert _norm_plain(ours.stdout) == _norm_plain(want)
        assert any(line.startswith(f"{fd.id}: name <anon>  size ") for line in ours.stdout.splitlines())


@pytest.mark.usefixtures("bpf_ok")
def test_list_shows_programs_of_a_loaded_object(tmp_path: Path) -> None:
    """prog_ids as bpftool computes them, for programs bpftool itself loaded from a committed object."""
    bpftool = need_bpftool()
    # libbpf-tools' opensnoop: four programs and two maps sharing one BTF object.
    obj = REPO / "corpora" / "bpf-objects" / "opensnoop.bpf.o"
    if not obj.exists():
        pytest.skip(f"{obj} not committed")
    with _bpffs(tmp_path) as fs:
        pins = fs / "progs"
        r = subprocess.run([bpftool, "prog", "loadall", str(obj), str(pins)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"bpftool could not load {obj.name}: {r.stderr.strip()[-300:]}")
        try:
            ref, ours = _stable(bpftool_show_json, lambda: run_cli("kernel", "list", "--json"))
            got = _norm_json(json.loads(ours.stdout))
            assert got == _norm_json(ref)
            assert any(len(r["prog_ids"]) == 4 and len(r["map_ids"]) == 2 for r in got.values()), got
        finally:
            shutil.rmtree(pins, ignore_errors=True)


# ---------------------------------------------------------------------------- get


@pytest.mark.usefixtures("bpf_ok")
def test_get_vmlinux_equals_sysfs(tmp_path: Path) -> None:
    data = vmlinux_bytes()
    vid = next(i.id for i in iter_btf_infos() if i.kernel_btf and i.name == "vmlinux")
    out = tmp_path / "v.btf"
    r = run_cli("kernel", "get", str(vid), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == data
    assert f"BTF object {vid} (vmlinux)" in r.stdout


@pytest.mark.usefixtures("bpf_ok")
def test_get_module_names_its_base(tmp_path: Path) -> None:
    mods = [i for i in iter_btf_infos() if i.kernel_btf and i.name != "vmlinux"]
    if not mods:
        pytest.skip("no module BTF loaded in this kernel")
    m = mods[0]
    out = tmp_path / "m.btf"
    r = run_cli("kernel", "get", str(m.id), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == Path(f"/sys/kernel/btf/{m.name}").read_bytes()
    assert "needs base vmlinux (BTF ID" in r.stdout


@pytest.mark.usefixtures("bpf_ok")
def test_get_unknown_id_is_one_line() -> None:
    r = run_cli("kernel", "get", "999999999", "-o", "/nonexistent/x")
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["btfdedup: error: no BTF object with ID 999999999"]


# --------------------------------------------------------------------------- load


@pytest.mark.usefixtures("bpf_ok")
def test_load_sysfs_vmlinux() -> None:
    r = run_cli("kernel", "load", str(SYSFS_VMLINUX))
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(
        rf"loaded BTF object ID \d+ \({len(vmlinux_bytes())} bytes, raw file\); released when this command exits\n",
        r.stdout,
    )


@pytest.mark.usefixtures("bpf_ok")
def test_load_committed_6_1_base_json() -> None:
    if not BASE_61_XZ.exists():
        pytest.skip(f"{BASE_61_XZ} not committed")
    r = run_cli("kernel", "load", str(BASE_61_XZ), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["size"] == 4119994 and out["id"] > 0


@pytest.mark.corpus
@pytest.mark.usefixtures("bpf_ok")
def test_load_corpus_6_1_base(corpora_dir: Path) -> None:
    r = run_cli("kernel", "load", str(corpora_dir / "modules-6.1" / "vmlinux.btf"))
    assert r.returncode == 0, r.stderr


@pytest.mark.usefixtures("bpf_ok")
def test_load_broken_prints_the_kernel_log(tmp_path: Path) -> None:
    bad = tmp_path / "broken.btf"
    bad.write_bytes(vmlinux_bytes()[:2000])
    r = run_cli("kernel", "load", str(bad))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert "magic: 0xeb9f" in lines and "Total section length too long" in lines
    assert lines[-1] == "btfdedup: error: kernel rejected the BTF: Invalid argument (EINVAL): Total section length too long"
    assert r.stdout == ""


@pytest.mark.usefixtures("bpf_ok")
def test_load_with_tiny_log_size_retries_and_shows_log(tmp_path: Path) -> None:
    f = tmp_path / "tiny.btf"
    f.write_bytes(tiny_btf())
    r = run_cli("kernel", "load", str(f), "--log-level", "1", "--log-size", "128")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("magic: 0xeb9f\n") and "[1] INT int" in r.stderr


@pytest.mark.usefixtures("bpf_ok")
def test_load_split_needs_merge_base(tmp_path: Path) -> None:
    base = tmp_path / "vmlinux"
    base.write_bytes(vmlinux_bytes())
    split = tmp_path / "probe.btf"
    split.write_bytes(split_on(vmlinux_bytes()))

    alone = run_cli("kernel", "load", str(split))
    assert alone.returncode == 1 and "Traceback" not in alone.stderr
    assert "looks like split BTF" in alone.stderr and alone.stderr.splitlines()[-1].startswith("btfdedup: error: kernel rejected")

    no_merge = run_cli("kernel", "load", str(split), "--base", str(base))
    assert no_merge.returncode == 1
    assert no_merge.stderr.splitlines() == [
        f"btfdedup: error: {split} is split BTF: BPF_BTF_LOAD loads standalone BTF only (it has no base-BTF field); "
        "add --merge-base to load it together with its base as one blob"
    ]

    merged = run_cli("kernel", "load", str(split), "--base", str(base), "--merge-base")
    assert merged.returncode == 0, merged.stderr
    assert f"({len(vmlinux_bytes()) + len(split_on(vmlinux_bytes())) - 24} bytes, base and split merged" in merged.stdout


@pytest.mark.usefixtures("bpf_ok")
def test_load_committed_module_merged_with_base() -> None:
    if not BASE_61_XZ.exists():
        pytest.skip(f"{BASE_61_XZ} not committed")
    r = run_cli("kernel", "load", str(MODULES / "8021q.btf"), "--base", str(BASE_61_XZ), "--merge-base")
    assert r.returncode == 0, r.stderr


class _bpffs:
    """A private bpffs mount under a test directory (skips when mounting is not allowed)."""

    def __init__(self, where: Path) -> None:
        self.path = where / "bpffs"

    def __enter__(self) -> Path:
        self.path.mkdir()
        r = subprocess.run(["mount", "-t", "bpf", "bpf", str(self.path)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount bpffs: {r.stderr.strip()}")
        return self.path

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", str(self.path)], capture_output=True)


@pytest.mark.usefixtures("bpf_ok")
def test_load_pin_keeps_the_object_after_exit(tmp_path: Path) -> None:
    f = tmp_path / "tiny.btf"
    f.write_bytes(tiny_btf())
    with _bpffs(tmp_path) as fs:
        pin = fs / "kept"
        r = run_cli("kernel", "load", str(f), "--pin", str(pin), "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["pinned"] == str(pin) and pin.exists()
        seen = {o["id"]: o for o in bpftool_show_json()}
        assert out["id"] in seen, "pinned BTF must outlive the command"
        assert seen[out["id"]]["size"] == len(tiny_btf()) and seen[out["id"]]["map_ids"]
        again = run_cli("kernel", "load", str(f), "--pin", str(pin))
        assert again.returncode == 1
        assert again.stderr.splitlines() == [f"btfdedup: error: cannot pin at {pin}: the path already exists"]
        pin.unlink()


@pytest.mark.usefixtures("bpf_ok")
def test_load_pin_outside_bpffs_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "tiny.btf"
    f.write_bytes(tiny_btf())
    r = run_cli("kernel", "load", str(f), "--pin", str(tmp_path / "x"))
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and "not on a bpffs mount" in r.stderr


# -------------------------------------------------------------------- privileges

#: (tool, verb) pairs: every verb under setpriv; the other two droppers on a subset.
CASES = [
    ("setpriv", ("list",)),
    ("setpriv", ("list", "--json")),
    ("setpriv", ("get", "1", "-o", "/tmp/btfdedup-unprivileged-get.btf")),
    ("setpriv", ("load", str(SYSFS_VMLINUX))),
    ("unshare -U", ("list",)),
    ("unshare -U", ("load", str(SYSFS_VMLINUX))),
    ("capsh", ("load", str(SYSFS_VMLINUX))),
]


def _dropper(tool: str) -> list[str]:
    """Command prefix that runs the CLI without CAP_BPF/CAP_SYS_ADMIN, or skip."""
    if tool == "setpriv":
        if not shutil.which("setpriv"):
            pytest.skip("setpriv missing (util-linux)")
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
    if tool == "unshare -U":
        if not shutil.which("unshare") or subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode:
            pytest.skip("unshare -U not available here (util-linux, user namespaces)")
        return ["unshare", "-U"]
    if not shutil.which("capsh") or os.geteuid() != 0:
        pytest.skip("capsh (libcap2-bin) missing or not root")
    return ["capsh", "--drop=cap_bpf,cap_sys_admin,cap_perfmon", "--"]


def _skip_unless_importable(prefix: list[str]) -> None:
    """Skip when uid 65534 cannot even read this installation (a private venv or
    checkout directory): that says nothing about how the CLI handles EPERM."""
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import btfdedup"], capture_output=True, text=True, env=cli_env(), cwd="/",
        timeout=300,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(f"uid 65534 cannot import btfdedup from {sys.prefix} ({last}); make it world-readable to run this")


@pytest.mark.parametrize(("tool", "verb"), CASES, ids=lambda v: v if isinstance(v, str) else " ".join(v[:2]))
def test_without_privileges_every_verb_fails_with_one_line(tool: str, verb: tuple[str, ...]) -> None:
    if not SYSFS_VMLINUX.exists():
        pytest.skip("/sys/kernel/btf/vmlinux missing")
    prefix = _dropper(tool)
    if tool == "setpriv":
        _skip_unless_importable(prefix)
    if tool == "capsh":
        # capsh hands its arguments to bash: one quoted command string.
        cmd = prefix + ["-c", " ".join(["exec", *map(shlex.quote, cli_argv("kernel", *verb))])]
        r = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), cwd="/", timeout=300)
    else:
        r = run_cli("kernel", *verb, prefix=prefix)
    lines = r.stderr.splitlines()
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("btfdedup: error: ") and "Operation not permitted (EPERM): needs CAP_" in lines[0], lines
    assert r.stdout == ""


@pytest.mark.usefixtures("bpf_ok")
def test_load_unfixed_bpf_object_explains_the_datasec_rejection() -> None:
    obj = REPO / "corpora" / "bpf" / "types.bpf.o"
    if not obj.exists():
        pytest.skip(f"{obj} not committed")
    r = run_cli("kernel", "load", str(obj))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    # The kernel's own complaint, then our hint, then the one error line.
    assert any(re.fullmatch(r"\[\d+\] DATASEC \S+ size=0 vlen=\d+ size == 0", line) for line in lines), lines
    assert lines[-2].startswith("hint: DATASECs of size 0 are how clang leaves BPF objects")
    assert lines[-1].startswith("btfdedup: error: kernel rejected the BTF: Invalid argument (EINVAL): [")


@pytest.mark.usefixtures("bpf_ok")
def test_get_to_stdout() -> None:
    vid = next(i.id for i in iter_btf_infos() if i.kernel_btf and i.name == "vmlinux")
    r = subprocess.run(cli_argv("kernel", "get", str(vid), "-o", "-"), capture_output=True, env=cli_env(), cwd="/")
    assert r.returncode == 0 and r.stdout == vmlinux_bytes()
    assert r.stderr == b""


def test_merge_base_without_base_is_a_usage_error() -> None:
    r = run_cli("kernel", "load", str(MODULES / "8021q.btf"), "--merge-base")
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["btfdedup: error: --merge-base needs --base BASE (the base BTF the split FILE was built on)"]


@pytest.mark.usefixtures("bpf_ok")
def test_get_id_beyond_u32_is_not_truncated(tmp_path: Path) -> None:
    # bpftool's strtoul wraps 2**32+1 to ID 1 (vmlinux); IDs are __u32, so this is no object at all
    out = tmp_path / "x.btf"
    r = run_cli("kernel", "get", str(2**32 + 1), "-o", str(out))
    assert r.returncode == 1 and not out.exists()
    assert r.stderr.splitlines() == [f"btfdedup: error: no BTF object with ID {2**32 + 1} (IDs are 32-bit unsigned)"]


def test_negative_log_size_is_a_usage_error(tmp_path: Path) -> None:
    f = tmp_path / "tiny.btf"
    f.write_bytes(tiny_btf())
    r = run_cli("kernel", "load", str(f), "--log-size", "-5")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-1].endswith("argument --log-size: expected a size in bytes (0 to 4294967295), got '-5'")
