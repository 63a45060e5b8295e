"""Where ``-o`` writes, run as a user runs it (the installed ``btfdedup`` command).

The rule (:mod:`btfdedup.io.writer`): a regular file is replaced atomically (a new
inode, the old content intact until the rename), anything else that exists (a
character device, a FIFO, a socket) is opened and written in place and stays what
it was, and ``-`` is standard output, refused on a terminal.  The device nodes and
FIFOs are created by the tests in their own temporary directories.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from btfdedup.io.load import load
from btfdedup.io.raw import parse_raw
from tests.conftest import FIXTURES, REPO

CU = str(FIXTURES / "cus" / "cu1412.btf")
CU2 = str(FIXTURES / "cus" / "cu1414.btf")
MODDIR = FIXTURES / "modules"
BASE = str(MODDIR / "vmlinux-6.1.btf.xz")
VETH = str(MODDIR / "veth.btf")


def btfdedup_command() -> list[str]:
    """The installed console script next to this interpreter (what a user runs), or
    ``python -m btfdedup``, which goes through the same entry point."""
    script = shutil.which("btfdedup", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "btfdedup"]


def run(*args: str, cwd: Path | None = None, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*btfdedup_command(), *args], capture_output=True, cwd=cwd or REPO, timeout=300,
                          **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """``dedup CU CU2`` written to a fresh regular file: what every sink must receive."""
    out = tmp_path_factory.mktemp("ref") / "ref.btf"
    r = run("dedup", CU, CU2, "-o", str(out))
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert parse_raw(data).nr_types > 0
    return data


def make_null_twin(path: Path) -> None:
    """A character device node with /dev/null's numbers, or a skip saying why not."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError as e:
        reason = f"mknod of a character device refused here: {e}"
        print(reason, file=sys.stderr)
        pytest.skip(reason)


def assert_null_twin(path: Path) -> None:
    st = os.lstat(path)
    assert stat.S_ISCHR(st.st_mode), f"{path} is no longer a character device: {st}"
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)


def test_char_device_stays_a_device(tmp_path: Path) -> None:
    null = tmp_path / "null"
    make_null_twin(null)
    ino = os.lstat(null).st_ino
    r = run("dedup", CU, CU2, "-o", str(null))
    assert r.returncode == 0, r.stderr
    assert_null_twin(null)
    assert os.lstat(null).st_ino == ino
    assert sorted(os.listdir(tmp_path)) == ["null"]  # no temporary file left next to it


def test_symlink_to_a_device_is_written_through(tmp_path: Path) -> None:
    null = tmp_path / "null"
    make_null_twin(null)
    link = tmp_path / "out.btf"
    link.symlink_to(null)
    r = run("dedup", CU, "-o", str(link))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(null)
    assert_null_twin(null)


def test_split_into_outdir_holding_a_device(tmp_path: Path) -> None:
    """split's OUTDIR files follow the same rule: a device named ``veth.btf`` in
    OUTDIR is written in place, the other module's file is created."""
    out = tmp_path / "out"
    out.mkdir()
    make_null_twin(out / "veth.btf")
    r = run("split", VETH, str(MODDIR / "dummy.btf"), "--base", BASE, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert_null_twin(out / "veth.btf")
    assert sorted(os.listdir(out)) == ["dummy.btf", "veth.btf"]
    assert parse_raw((out / "dummy.btf").read_bytes(), base=load(BASE)).nr_types == 16


def test_fifo_is_written_in_place(tmp_path: Path, expected: bytes) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    r = run("dedup", CU, CU2, "-o", str(fifo))
    t.join(60)
    assert r.returncode == 0, r.stderr
    assert not t.is_alive()
    assert got == [expected]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


def test_socket_is_not_replaced(tmp_path: Path) -> None:
    """A socket cannot be opened for writing: one error line, and it stays a socket."""
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(path))
        r = run("dedup", CU, "-o", str(path))
        assert r.returncode == 1
        err = r.stderr.decode().splitlines()
        assert len(err) == 1 and err[0].startswith(f"btfdedup: error: {path}: cannot write the output"), err
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
        assert sorted(os.listdir(tmp_path)) == ["sock"]
    finally:
        s.close()


def test_regular_file_is_replaced_atomically(tmp_path: Path, expected: bytes) -> None:
    out = tmp_path / "out.btf"
    out.write_bytes(b"old content")
    out.chmod(0o600)
    ino = os.lstat(out).st_ino
    keep = tmp_path / "hardlink"
    os.link(out, keep)  # the old inode, as a reader holding it open would see it
    r = run("dedup", CU, CU2, "-o", str(out))
    assert r.returncode == 0, r.stderr
    st = os.lstat(out)
    assert stat.S_ISREG(st.st_mode) and st.st_ino != ino  # renamed over, not rewritten
    assert stat.S_IMODE(st.st_mode) == 0o600  # the replaced file's mode is kept
    assert out.read_bytes() == expected
    assert keep.read_bytes() == b"old content"
    assert sorted(os.listdir(tmp_path)) == ["hardlink", "out.btf"]


def test_symlink_to_a_regular_file_keeps_the_link(tmp_path: Path, expected: bytes) -> None:
    target = tmp_path / "target.btf"
    target.write_bytes(b"old")
    link = tmp_path / "link.btf"
    link.symlink_to(target)
    r = run("dedup", CU, CU2, "-o", str(link))
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and target.read_bytes() == expected


def test_stdout_streams_btf(expected: bytes, tmp_path: Path) -> None:
    r = run("dedup", CU, CU2, "-o", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected
    btf = parse_raw(r.stdout)
    assert btf.nr_types == parse_raw(expected).nr_types
    assert b"-> -" in r.stderr  # the summary moved to stderr, off the data stream
    assert os.listdir(tmp_path) == []  # no file named '-'


def test_stdout_json_summary_goes_to_stderr(expected: bytes, tmp_path: Path) -> None:
    import json

    r = run("dedup", CU, CU2, "-o", "-", "--json", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == expected
    assert json.loads(r.stderr)["output"] == "-"


def test_stdout_on_a_terminal_is_refused(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        r = subprocess.run([*btfdedup_command(), "dedup", CU, "-o", "-"], stdout=slave, stderr=subprocess.PIPE,
                           cwd=tmp_path, timeout=300)
    finally:
        os.close(slave)
    os.set_blocking(master, False)
    try:
        printed = os.read(master, 4096)
    except (BlockingIOError, OSError):
        printed = b""
    os.close(master)
    assert r.returncode == 2
    assert printed == b""
    err = r.stderr.decode().splitlines()
    assert len(err) == 1 and err[0].startswith("btfdedup: error: -o -: refusing to write binary BTF to a terminal")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv", [
    ("split", VETH, "--base", BASE, "-o", "-"),
    ("dedup", str(FIXTURES / "bpf" / "fwd_user.bpf.o"), "--ext", "-o", "-"),
], ids=["split", "dedup-ext"])
def test_stdout_is_a_usage_error_for_several_files(argv: tuple[str, ...], tmp_path: Path) -> None:
    r = run(*argv, cwd=tmp_path)
    assert r.returncode == 2
    err = r.stderr.decode().splitlines()
    assert len(err) == 1 and err[0].startswith("btfdedup: error: -o -:"), err
    assert r.stdout == b"" and os.listdir(tmp_path) == []


def test_output_through_a_symlink_to_an_input_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.btf"
    shutil.copy(CU, src)
    link = tmp_path / "out.btf"
    link.symlink_to(src)
    r = run("dedup", str(src), "-o", str(link))
    assert r.returncode == 1
    assert b"refusing to overwrite input file" in r.stderr
    assert src.read_bytes() == Path(CU).read_bytes()


def test_kernel_get_onto_a_device_and_stdout(tmp_path: Path) -> None:
    """``kernel get -o`` follows the same rule (needs bpf(2): the running kernel's
    vmlinux BTF object)."""
    from tests._kernel_helpers import bpf_skip_reason

    reason = bpf_skip_reason()
    if reason is not None:
        print(reason, file=sys.stderr)
        pytest.skip(reason)
    from btfdedup.kernel import iter_btf_infos

    vid = next((i.id for i in iter_btf_infos() if i.kernel_btf and i.name == "vmlinux"), None)
    if vid is None:
        pytest.skip("the running kernel exposes no vmlinux BTF object")
    null = tmp_path / "null"
    make_null_twin(null)
    r = run("kernel", "get", str(vid), "-o", str(null))
    assert r.returncode == 0, r.stderr
    assert_null_twin(null)
    r = run("kernel", "get", str(vid), "-o", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert parse_raw(r.stdout).nr_types > 1000
    assert sorted(os.listdir(tmp_path)) == ["null"]
