"""Our ctypes ``union bpf_attr`` layouts and constants against the system's kernel UAPI header.

The reference is ``<linux/bpf.h>`` as the C compiler sees it: a C program prints
``offsetof``/``sizeof`` of every field we declare and the value of every command
number and flag.  Fields or constants newer than the installed header (Debian 12
ships the 6.1 UAPI: no ``btf_log_true_size``, no token fields) are reported and
left out; everything the header does know must match exactly.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from btfdedup.kernel import syscall as sc

UAPI = Path("/usr/include/linux/bpf.h")

#: (C aggregate, C member path, our structure, our field)
FIELDS: list[tuple[str, str, type[ctypes.Structure], str]] = [
    *[("union bpf_attr", f, sc.BtfLoadAttr, f) for f in (
        "btf", "btf_log_buf", "btf_size", "btf_log_size", "btf_log_level",
        "btf_log_true_size", "btf_flags", "btf_token_fd")],
    *[("union bpf_attr", f, sc.GetIdAttr, f) for f in ("start_id", "next_id", "open_flags", "fd_by_id_token_fd")],
    *[("union bpf_attr", f"info.{f}", sc.InfoAttr, f) for f in ("bpf_fd", "info_len", "info")],
    *[("union bpf_attr", f, sc.ObjPinAttr, f) for f in ("pathname", "bpf_fd", "file_flags", "path_fd")],
    *[("union bpf_attr", f, sc.MapCreateAttr, f) for f in (
        "map_type", "key_size", "value_size", "max_entries", "map_flags", "inner_map_fd", "numa_node",
        "map_name", "map_ifindex", "btf_fd", "btf_key_type_id", "btf_value_type_id",
        "btf_vmlinux_value_type_id", "map_extra")],
    *[("struct bpf_btf_info", f, sc.BpfBtfInfo, f) for f in ("btf", "btf_size", "id", "name", "name_len", "kernel_btf")],
    ("struct bpf_prog_info", "id", sc.BpfProgInfoPrefix, "id"),
    ("struct bpf_prog_info", "btf_id", sc.BpfProgInfoPrefix, "btf_id"),
    ("struct bpf_map_info", "id", sc.BpfMapInfoPrefix, "id"),
    ("struct bpf_map_info", "btf_id", sc.BpfMapInfoPrefix, "btf_id"),
]

CONSTANTS = [
    "BPF_MAP_CREATE", "BPF_OBJ_PIN", "BPF_PROG_GET_NEXT_ID", "BPF_MAP_GET_NEXT_ID", "BPF_PROG_GET_FD_BY_ID",
    "BPF_MAP_GET_FD_BY_ID", "BPF_OBJ_GET_INFO_BY_FD", "BPF_BTF_LOAD", "BPF_BTF_GET_FD_BY_ID",
    "BPF_BTF_GET_NEXT_ID", "BPF_F_RDONLY", "BPF_F_WRONLY", "BPF_F_PATH_FD", "BPF_F_TOKEN_FD",
    "BPF_MAP_TYPE_ARRAY", "BPF_OBJ_NAME_LEN",
]


def _compile_and_run(tmp: Path, lines: list[str]) -> tuple[str, str]:
    src = tmp / "probe.c"
    src.write_text(
        "#include <stdio.h>\n#include <stddef.h>\n#include <sys/syscall.h>\n#include <linux/bpf.h>\n"
        "int main(void) {\n" + "\n".join(lines) + "\nreturn 0; }\n"
    )
    exe = tmp / "probe"
    cc = shutil.which("clang") or shutil.which("cc") or shutil.which("gcc")
    assert cc is not None
    r = subprocess.run([cc, "-o", str(exe), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        return "", r.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout, ""


def _probe_header(tmp: Path) -> tuple[dict[str, int], list[str]]:
    """Values printed by the C probe, and the items the header does not know."""
    items: dict[str, str] = {}
    for agg, member, _s, _f in FIELDS:
        key = f"{agg}.{member}"
        items[f"off {key}"] = f'printf("off {key} %zu\\n", offsetof({agg}, {member}));'
        items[f"size {key}"] = f'printf("size {key} %zu\\n", sizeof((({agg} *)0)->{member}));'
    for name in CONSTANTS:
        items[f"const {name}"] = f'printf("const {name} %lld\\n", (long long){name});'
    items["const SYS_bpf"] = 'printf("const SYS_bpf %lld\\n", (long long)SYS_bpf);'
    items["sizeof struct bpf_btf_info"] = 'printf("sizeof struct bpf_btf_info %zu\\n", sizeof(struct bpf_btf_info));'
    missing: list[str] = []
    for _ in range(10):
        out, err = _compile_and_run(tmp, list(items.values()))
        if not err:
            values = {}
            for line in out.splitlines():
                key, _, val = line.rpartition(" ")
                values[key] = int(val)
            return values, missing
        # Drop every item naming a member or identifier the header lacks, then retry.
        unknown = set(re.findall(r"no member named '(\w+)'", err)) | set(
            re.findall(r"undeclared identifier '(\w+)'", err)
        ) | set(re.findall(r"has no member named '(\w+)'", err)) | set(re.findall(r"'(\w+)' undeclared", err))
        if not unknown:
            pytest.fail(f"C probe does not compile:\n{err}")
        for key in list(items):
            if any(re.search(rf"\b{u}\b", key) for u in unknown):
                missing.append(key)
                del items[key]
    pytest.fail("C probe kept failing to compile")


@pytest.fixture(scope="module")
def header_values(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, int], list[str]]:
    if not UAPI.exists():
        pytest.skip(f"{UAPI} missing (install linux-libc-dev)")
    if not (shutil.which("clang") or shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler to read the UAPI header")
    return _probe_header(tmp_path_factory.mktemp("uapi"))


def test_attr_field_offsets_and_sizes_match_uapi(header_values: tuple[dict[str, int], list[str]]) -> None:
    values, missing = header_values
    checked = 0
    for agg, member, struct, field in FIELDS:
        key = f"{agg}.{member}"
        if f"off {key}" not in values:
            continue
        desc = getattr(struct, field)
        assert desc.offset == values[f"off {key}"], f"{struct.__name__}.{field} offset"
        assert desc.size == values[f"size {key}"], f"{struct.__name__}.{field} size"
        checked += 1
    assert checked >= 30, f"only {checked} fields known to the installed header; missing: {missing}"
    if missing:
        print("newer than the installed UAPI header, not checked:", ", ".join(missing))


def test_btf_info_size_matches_uapi(header_values: tuple[dict[str, int], list[str]]) -> None:
    values, _ = header_values
    assert ctypes.sizeof(sc.BpfBtfInfo) == values["sizeof struct bpf_btf_info"]


def test_command_numbers_and_flags_match_uapi(header_values: tuple[dict[str, int], list[str]]) -> None:
    values, missing = header_values
    seen = 0
    for name in CONSTANTS:
        if f"const {name}" in values:
            assert getattr(sc, name) == values[f"const {name}"], name
            seen += 1
    assert seen >= 12, missing


def test_sys_bpf_number_matches_libc_headers(header_values: tuple[dict[str, int], list[str]]) -> None:
    values, _ = header_values
    if "const SYS_bpf" not in values:
        pytest.skip("<sys/syscall.h> has no SYS_bpf")
    assert sc.sys_bpf_number() == values["const SYS_bpf"]


def test_attr_structs_end_where_the_last_field_ends() -> None:
    # The kernel CHECK_ATTR()s the bytes after a command's last field: our structs
    # must not carry trailing padding beyond the fields we set.
    assert ctypes.sizeof(sc.BtfLoadAttr) == sc.BtfLoadAttr.btf_token_fd.offset + 4
    assert ctypes.sizeof(sc.GetIdAttr) == 16
    assert ctypes.sizeof(sc.InfoAttr) == 16
    assert ctypes.sizeof(sc.ObjPinAttr) == sc.ObjPinAttr.path_fd.offset + 4 + 4  # 8-byte alignment pad


def _kernel_answers(monkeypatch: pytest.MonkeyPatch, err: int) -> None:
    """Make every bpf(2) call fail with ``err``, as an old or locked-down kernel would."""
    from btfdedup.errors import KernelError

    def fail(cmd: int, attr: ctypes.Structure) -> int:
        raise KernelError(sc.describe_error(cmd, err), errno=err)

    monkeypatch.setattr(sc, "bpf", fail)


def test_einval_from_get_next_id_names_the_missing_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from btfdedup.errors import KernelError
    from btfdedup.kernel import btf_get_fd_by_id, iter_btf_ids

    _kernel_answers(monkeypatch, errno.EINVAL)
    with pytest.raises(KernelError, match=r"this kernel lacks BPF_BTF_GET_NEXT_ID \(needs Linux 5\.4\)"):
        list(iter_btf_ids())
    with pytest.raises(KernelError, match=r"this kernel lacks BPF_BTF_GET_FD_BY_ID \(needs Linux 4\.18\)"):
        btf_get_fd_by_id(1)


def test_eperm_and_enosys_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from btfdedup.errors import KernelError
    from btfdedup.kernel import btf_load, btf_load_verdict, iter_btf_ids

    _kernel_answers(monkeypatch, errno.EPERM)
    with pytest.raises(KernelError, match=r"BPF_BTF_LOAD failed: .*\(EPERM\): needs CAP_BPF \(or a BPF token\)"):
        btf_load(b"\x9f\xeb\x01\x00" + bytes(20))
    # A missing privilege is no verdict on the blob: the verdict helper raises too.
    with pytest.raises(KernelError):
        btf_load_verdict(b"\x9f\xeb\x01\x00" + bytes(20))
    with pytest.raises(KernelError, match=r"\(EPERM\): needs CAP_SYS_ADMIN"):
        list(iter_btf_ids())
    _kernel_answers(monkeypatch, errno.ENOSYS)
    with pytest.raises(KernelError, match="no bpf\\(2\\) system call"):
        btf_load(b"\x9f\xeb\x01\x00" + bytes(20))
