"""Malformed raw BTF: every broken input ends as one clear :class:`BtfFormatError`.

The inputs are REAL files (the committed fixtures under ``corpora/``: vmlinux
compilation units, kernel-module split BTF on the 6.1 vmlinux base, the 6.18
vmlinux) mutated in targeted and in seeded-random ways:

* truncation at every section boundary, +-1 and +-4 bytes around it, and at
  random points; truncation *inside* a section with the header made consistent;
* random bit flips, each of which must either parse (and then re-serialise
  exactly) or be rejected, and whose verdict is compared with libbpf's own
  parser (the v1.6 oracle): whatever libbpf rejects we reject, and whatever we
  reject beyond that is one of the stricter rules listed in ``_STRICTER``;
* 4 GB / 2 GB / off-by-one values in every header length and offset field;
* one test per named rule, asserting the error class, the rule in the message,
  the byte offset or type ID, and (loaded through :func:`btfdedup.load`) the file.

Every parse runs under a hang watchdog (``faulthandler``: it also fires inside
the compiled core) and under ``tracemalloc`` with a bound on the peak
allocation relative to the input size, so a 4 GB length field can never turn
into a 4 GB allocation.
"""

from __future__ import annotations

import faulthandler
import lzma
import os
import random
import re
import resource
import shutil
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from btfdedup import load
from btfdedup.errors import BtfError, BtfFormatError, BtfUsageError
from btfdedup.format.constants import DEFAULT_LAYOUT, NR_KIND_SLOTS, Kind
from btfdedup.io.raw import parse_raw
from btfdedup.model.btf import Btf
from btfdedup.model.fields import (
    STR_PER_VLEN,
    STR_STRIDE,
    TID_FIRST,
    TID_FIXED,
    TID_PER_VLEN,
    TID_STRIDE,
)
from btfdedup.model.records import KindSizes
from tests.expected import PARSE_V16, VerdictLog, case_key
from tests.oracle.libbpf import BtfHandle, OracleError
from tests.oracle.libbpf import Libbpf as OracleLibbpf

from .conftest import FIXTURES

# ----------------------------------------------------------------------------- fixtures

CUS = sorted((FIXTURES / "cus").glob("*.btf"))
#: Module split BTF on BASE_61 (the distilled-base fixtures there belong to other tests).
MODULES = sorted(p for p in (FIXTURES / "modules").glob("*.btf") if "distilled" not in p.name)
BASE_61 = FIXTURES / "modules" / "vmlinux-6.1.btf.xz"
VMLINUX_618 = FIXTURES / "vmlinux-6.18.btf.xz"

#: Peak Python/numpy allocation allowed while parsing: this many times the input, plus a constant.
MEM_FACTOR = 8
MEM_SLACK = 2 * 1024 * 1024
#: A test still running after this many seconds hangs: the watchdog dumps every stack and exits.
#: (It is a hang detector, not a speed limit; it also fires inside compiled code.)
HANG_WATCHDOG_S = 300.0

HDR = "HBBIIIII"
FIELD_OFFSETS = {"hdr_len": 4, "type_off": 8, "type_len": 12, "str_off": 16, "str_len": 20}
LAYOUT_FIELD_OFFSETS = {"layout_off": 24, "layout_len": 28}


def _need(paths: list[Path] | Path) -> None:
    if isinstance(paths, Path):
        paths = [paths]
    missing = [p for p in paths if not p.exists()]
    if not paths or missing:
        pytest.skip(f"committed fixture missing: {missing[0] if missing else 'corpora/*'} (see corpora/README.md)")


@pytest.fixture(scope="module")
def base61() -> Btf:
    _need(BASE_61)
    btf = parse_raw(lzma.decompress(BASE_61.read_bytes()), source=str(BASE_61))
    # Warm the cached columns split parses consult, so their allocation does not
    # count against the (small) split inputs in the memory bound.
    _ = btf.kind, btf.strings.end_off
    return btf


@pytest.fixture(scope="module")
def vmlinux618() -> bytes:
    _need(VMLINUX_618)
    return lzma.decompress(VMLINUX_618.read_bytes())


def _small_cus(n: int) -> list[Path]:
    _need(CUS)
    return sorted(CUS, key=lambda p: p.stat().st_size)[:n]


def _small_modules(n: int) -> list[Path]:
    _need(MODULES)
    return sorted(MODULES, key=lambda p: p.stat().st_size)[:n]


# ----------------------------------------------------------------------------- byte helpers


def _bo(data: bytes) -> str:
    return ">" if data[:2] == b"\xeb\x9f" else "<"


def _hdr(data: bytes) -> dict[str, int]:
    bo = _bo(data)
    _m, _v, _f, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(bo + HDR, data)
    out = dict(hdr_len=hdr_len, type_off=type_off, type_len=type_len, str_off=str_off, str_len=str_len)
    if hdr_len >= 32:
        out["layout_off"], out["layout_len"] = struct.unpack_from(bo + "II", data, 24)
    return out


def _put(data: bytes, off: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(_bo(data) + fmt, out, off, value)
    return bytes(out)


def _assemble(types: bytes, strings: bytes, *, bo: str = "<", hdr_len: int = 24, layout: bytes = b"") -> bytes:
    """A canonical raw BTF file: header, types, layout, strings (as libbpf writes)."""
    tl, ll = len(types), len(layout)
    hdr = struct.pack(bo + HDR, 0xEB9F, 1, 0, hdr_len, 0, tl, tl + ll, len(strings))
    if hdr_len >= 32:
        hdr += struct.pack(bo + "II", tl if ll else 0, ll)
    return hdr.ljust(hdr_len, b"\0") + types + layout + strings


def _sections(data: bytes) -> tuple[bytes, bytes]:
    h = _hdr(data)
    body = h["hdr_len"]
    t0, s0 = body + h["type_off"], body + h["str_off"]
    return data[t0 : t0 + h["type_len"]], data[s0 : s0 + h["str_len"]]


def _with_layout(data: bytes, rows: list[tuple[int, int]] | None = None) -> bytes:
    """The same BTF with a 32-byte header and a layout section (libbpf's table by default)."""
    types, strings = _sections(data)
    bo = _bo(data)
    rows = list(DEFAULT_LAYOUT) if rows is None else rows
    layout = b"".join(struct.pack(bo + "BBH", i, e, 0) for i, e in rows)
    return _assemble(types, strings, bo=bo, hdr_len=32, layout=layout)


def _swap_endian(data: bytes) -> bytes:
    """Byte-swap a canonical 24-byte-header BTF: every type-section item is a u32."""
    types, strings = _sections(data)
    words = np.frombuffer(types, dtype=np.dtype(_bo(data) + "u4"))
    swapped = ">" if _bo(data) == "<" else "<"
    return _assemble(words.astype(swapped + "u4").tobytes(), strings, bo=swapped)


def _set_word(data: bytes, word_pos: int, value: int) -> bytes:
    """Overwrite type-section word ``word_pos`` (native index into Btf.words)."""
    h = _hdr(data)
    return _put(data, h["hdr_len"] + h["type_off"] + 4 * word_pos, "I", value & 0xFFFFFFFF)


# ----------------------------------------------------------------------------- guarded parse


@pytest.fixture(autouse=True)
def hang_watchdog() -> Iterator[None]:
    """Arm the watchdog around each test (armed once per test: re-arming it per
    parse costs milliseconds of thread wake-up each time)."""
    faulthandler.dump_traceback_later(HANG_WATCHDOG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _parse_guarded(data: bytes, base: Btf | None = None, source: str | None = None) -> Btf | BtfFormatError:
    """Parse ``data``; return the Btf or the BtfFormatError.  Anything else escaping
    fails the test, and so does an allocation above the bound."""
    tracemalloc.start()
    result: Btf | BtfFormatError
    try:
        result = parse_raw(data, base=base, source=source)
    except BtfFormatError as e:
        result = e
    except Exception as e:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{type(e).__name__} escaped parse_raw instead of BtfFormatError: {e}")
    finally:
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    limit = MEM_FACTOR * len(data) + MEM_SLACK
    assert peak <= limit, f"parse of a {len(data)}-byte input allocated {peak} bytes (limit {limit})"
    return result


def _reject(data: bytes, base: Btf | None = None, source: str | None = None) -> BtfFormatError:
    res = _parse_guarded(data, base, source)
    assert isinstance(res, BtfFormatError), "malformed input was accepted"
    assert isinstance(res, BtfError)
    return res


def _load_reject(tmp_path: Path, data: bytes, base: Btf | None = None, name: str = "bad.btf") -> BtfFormatError:
    """Write ``data`` to a file and load it through btfdedup.load: the error must name the file."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BtfFormatError) as info:
        load(str(path), base=base)
    err = info.value
    assert err.source == str(path)
    assert str(path) in str(err)
    return err


def _check_accepted(btf: Btf, mutated: bytes) -> None:
    """An accepted mutation must re-serialise exactly (header untouched) and re-parse."""
    out = btf.to_bytes()
    if _hdr(mutated) == _hdr(out) and len(out) == len(mutated):
        assert out == mutated
    again = parse_raw(out, base=btf.base)
    assert again.to_bytes() == out


# ----------------------------------------------------------------------------- libbpf oracle

class Libbpf:
    """Accept/reject verdicts of libbpf v1.6's own raw-BTF parser (btf__new /
    btf__new_split), through the shared ctypes oracle; where libbpf v1.6 is not
    installed, its verdicts committed in tests/expected/parse_v16.json are replayed."""

    def __init__(self, log: VerdictLog) -> None:
        self.log = log

    def handle(self, raw: bytes) -> BtfHandle | None:
        """A parsed handle of a fixture libbpf must accept (None where libbpf is absent)."""
        lib: OracleLibbpf | None = self.log.handle
        if lib is None:
            return None
        try:
            return lib.parse(raw)
        except OracleError as e:
            raise AssertionError(f"libbpf rejects a committed fixture: {e}") from None

    def accepts(self, raw: bytes, base_handle: BtfHandle | None = None) -> bool:
        def live(lib: OracleLibbpf) -> bool:
            try:
                h = lib.parse(raw, base_handle)
            except OracleError:
                return False
            h.free()
            return True

        return self.log.verdict(raw, live)


@pytest.fixture
def libbpf() -> Iterator[Libbpf]:
    log = VerdictLog(PARSE_V16, case_key("btf__new verdicts"))
    yield Libbpf(log)
    log.finish()


# ============================================================================ the tables are safe


def test_field_tables_stay_inside_every_record() -> None:
    """The compiled field walk reads p + first + stride*j without bounds checks:
    for every kind slot and vlen, each position must lie inside the record."""
    sizes = KindSizes()
    for kind in range(NR_KIND_SLOTS):
        for vlen in (0, 1, 2, 3, 17, 0xFFFF, 0xFFFFFF):
            size = 3 + int(sizes.fixed_words[kind]) + vlen * int(sizes.vlen_words[kind])
            n_tid = int(TID_FIXED[kind] + TID_PER_VLEN[kind] * vlen)
            if n_tid:
                last = int(TID_FIRST[kind] + TID_STRIDE[kind] * (n_tid - 1))
                assert 0 < int(TID_FIRST[kind]) and last < size, (kind, vlen)
            n_str = int(STR_PER_VLEN[kind] * vlen)
            if n_str:
                assert 3 + int(STR_STRIDE[kind]) * (n_str - 1) < size, (kind, vlen)
            if not sizes.known[kind]:
                assert n_tid == 0 and n_str == 0, f"unsized kind {kind} has fields"


def test_fixtures_are_valid_and_round_trip(base61: Btf, libbpf: Libbpf) -> None:
    """Baseline for the mutations: the untouched fixtures parse, libbpf accepts
    them too, and they round-trip byte for byte (also byte-swapped and with a layout section)."""
    base_h = libbpf.handle(base61.to_bytes())
    for p in _small_cus(6):
        data = p.read_bytes()
        btf = _parse_guarded(data, source=str(p))
        assert isinstance(btf, Btf) and btf.to_bytes() == data
        assert libbpf.accepts(data)
        for variant in (_swap_endian(data), _with_layout(data)):
            v = _parse_guarded(variant)
            assert isinstance(v, Btf) and v.to_bytes() == variant
            assert libbpf.accepts(variant)
    for p in _small_modules(5):
        data = p.read_bytes()
        btf = _parse_guarded(data, base=base61, source=str(p))
        assert isinstance(btf, Btf) and btf.to_bytes() == data
        assert libbpf.accepts(data, base_h)


# ============================================================================ truncation


def _boundaries(data: bytes) -> list[int]:
    h = _hdr(data)
    body = h["hdr_len"]
    marks = {0, 2, 24, body, body + h["type_off"], body + h["type_off"] + h["type_len"], body + h["str_off"]}
    if h.get("layout_len"):
        marks |= {body + h["layout_off"], body + h["layout_off"] + h["layout_len"]}
    marks.add(len(data))
    return sorted(marks)


def _truncation_points(data: bytes, rng: random.Random, n_random: int) -> list[int]:
    pts = {b + d for b in _boundaries(data) for d in (-4, -1, 0, 1, 4)}
    pts |= {rng.randrange(len(data)) for _ in range(n_random)}
    return sorted(p for p in pts if 0 <= p < len(data))


def _truncation_inputs(base61: Btf, vmlinux618: bytes) -> Iterator[tuple[str, bytes, Btf | None]]:
    for p in _small_cus(3):
        data = p.read_bytes()
        yield p.name, data, None
        yield p.name + "+layout", _with_layout(data), None
        yield p.name + "+bigendian", _swap_endian(data), None
    for p in _small_modules(3):
        yield p.name, p.read_bytes(), base61
    yield "vmlinux-6.18", vmlinux618, None


def test_truncation_at_section_boundaries_and_random_points(base61: Btf, vmlinux618: bytes) -> None:
    rng = random.Random(0xB7F)
    for name, data, base in _truncation_inputs(base61, vmlinux618):
        n_random = 8 if len(data) > 1_000_000 else 40
        for cut in _truncation_points(data, rng, n_random):
            err = _reject(data[:cut], base, source=name)
            where = f"{name} cut at {cut}"
            assert err.offset is not None, where
            if cut < 2:
                assert "magic" in err.rule, where
            elif cut < 24:
                assert "truncated header" in err.rule and f"{cut} bytes" in err.rule, where
            elif cut < _hdr(data)["hdr_len"]:
                assert "hdr_len" in err.rule, where
            else:
                assert "runs past the end" in err.rule, where
            assert name in str(err)


def _record_cuts(btf: Btf) -> list[int]:
    """Byte lengths of the type section to cut at: around the first, middle and last records."""
    ts = btf.type_start
    picks = sorted({1, 2, len(ts) // 2, len(ts) - 2, len(ts) - 1} & set(range(1, len(ts))))
    cuts = {4 * int(ts[i]) + d for i in picks for d in (-8, -4, 0, 4, 8)}
    return sorted(c for c in cuts if 0 <= c < btf.type_len)


def test_truncated_type_section_with_consistent_header(base61: Btf, vmlinux618: bytes) -> None:
    """Cut the type section but fix the header up: a cut inside a record is
    named by type ID and offset; a cut between records may parse (then it round-trips)."""
    for name, data, base in _truncation_inputs(base61, vmlinux618):
        if "+layout" in name:
            continue
        btf = parse_raw(data, base=base)
        types, strings = _sections(data)
        starts = set((4 * btf.type_start).tolist())
        for cut in _record_cuts(btf):
            mutated = _assemble(types[:cut], strings, bo=btf.byteorder)
            res = _parse_guarded(mutated, base)
            where = f"{name}: type section cut to {cut} bytes"
            if cut in starts:
                if isinstance(res, Btf):
                    _check_accepted(res, mutated)
                else:
                    assert re.search(r"refers to type|not a FUNC_PROTO", res.rule), where
                    assert res.type_id is not None, where
                continue
            assert isinstance(res, BtfFormatError), where
            assert res.type_id is not None and res.offset is not None, where
            assert re.search(r"ends inside a type header|runs past the end of the type section", res.rule), where
        # A type section whose length is not a multiple of 4.
        bad = _assemble(types[:-2], strings, bo=btf.byteorder)
        err = _reject(bad, base)
        assert "not a multiple of 4" in err.rule and err.offset == 12


def test_truncated_string_section_with_consistent_header(base61: Btf, vmlinux618: bytes) -> None:
    rng = random.Random(7)
    for name, data, base in _truncation_inputs(base61, vmlinux618):
        if "+layout" in name:
            continue
        h = _hdr(data)
        types, strings = _sections(data)
        s0 = h["hdr_len"] + len(types)
        if len(strings) < 2:
            continue
        cuts = {1, 2, len(strings) - 1, len(strings) - 2} | {rng.randrange(1, len(strings)) for _ in range(10)}
        for cut in sorted(c for c in cuts if 0 < c < len(strings)):
            mutated = _assemble(types, strings[:cut], bo=_bo(data))
            res = _parse_guarded(mutated, base)
            where = f"{name}: strings cut to {cut}"
            if strings[cut - 1] != 0:
                assert isinstance(res, BtfFormatError), where
                assert "does not end with a NUL" in res.rule and res.offset == s0 + cut - 1, where
            elif isinstance(res, BtfFormatError):
                assert "outside the string section" in res.rule and res.type_id is not None, where
            else:
                _check_accepted(res, mutated)


# ============================================================================ random flips


def _flip_inputs(base61: Btf) -> list[tuple[Path, Btf | None]]:
    return [(p, None) for p in _small_cus(6)] + [(p, base61) for p in _small_modules(6)]


def _flips(data: bytes, rng: random.Random) -> tuple[int, bytes]:
    pos = rng.randrange(len(data))
    out = bytearray(data)
    out[pos] ^= rng.choice([1 << rng.randrange(8), rng.randrange(1, 256)])
    return pos, bytes(out)


def test_random_byte_flips_parse_or_raise(base61: Btf) -> None:
    rng = random.Random(20260)
    inputs = _flip_inputs(base61)
    accepted = rejected = 0
    for _ in range(400):
        path, base = rng.choice(inputs)
        pos, mutated = _flips(path.read_bytes(), rng)
        res = _parse_guarded(mutated, base, source=path.name)
        if isinstance(res, Btf):
            accepted += 1
            _check_accepted(res, mutated)
            if pos >= res.hdr_len:
                assert res.to_bytes() == mutated
        else:
            rejected += 1
            assert path.name in str(res) and (res.offset is not None or res.type_id is not None)
    # Both outcomes must really occur, or the test is not exercising the reader.
    assert accepted > 20 and rejected > 20, (accepted, rejected)


#: Rules we enforce that libbpf v1.6's parser does not; each is a real kernel rule.
_STRICTER: dict[str, Callable[[BtfFormatError, bytes], bool]] = {
    # The kernel requires version 1 and flags 0.
    "version": lambda e, d: "unsupported BTF version" in e.rule,
    "flags": lambda e, d: "header flags must be 0" in e.rule,
    # 2026 widths: kind is 7 bits (libbpf 1.6 reads 5) and vlen 24 bits (libbpf 1.6 reads 16).
    "kind": lambda e, d: (m := re.search(r"unknown kind (\d+)", e.rule)) is not None and int(m.group(1)) >= 32,
    "vlen": lambda e, d: (m := re.search(r"with vlen (\d+) runs past", e.rule)) is not None
    and int(m.group(1)) > 0xFFFF,
    # libbpf 1.6 does not range-check a FUNC_PROTO's return type nor FWD's (must-be-0) type
    # field; the kernel rejects both, and the field iterators dedup uses do visit them.
    "return": lambda e, d: "FUNC_PROTO return type refers to type ID" in e.rule,
    "fwd": lambda e, d: "FWD type refers to type ID" in e.rule,
}


def test_random_byte_flips_agree_with_libbpf(base61: Btf, libbpf: Libbpf) -> None:
    """Judge the verdicts against libbpf's own parser: libbpf-rejected => we reject;
    we-reject-but-libbpf-accepts only under the listed stricter (kernel) rules."""
    base_h = libbpf.handle(base61.to_bytes())
    rng = random.Random(4242)
    inputs = _flip_inputs(base61)
    stricter_hits: dict[str, int] = {}
    for _ in range(600):
        path, base = rng.choice(inputs)
        pos, mutated = _flips(path.read_bytes(), rng)
        ours = _parse_guarded(mutated, base, source=path.name)
        theirs = libbpf.accepts(mutated, base_h if base is not None else None)
        where = f"{path.name} byte {pos}"
        if not theirs:
            assert isinstance(ours, BtfFormatError), f"libbpf rejects {where}, we accept it"
        elif isinstance(ours, BtfFormatError):
            rules = [k for k, ok in _STRICTER.items() if ok(ours, mutated)]
            assert rules, f"we reject {where} but libbpf accepts it: {ours}"
            stricter_hits[rules[0]] = stricter_hits.get(rules[0], 0) + 1
    assert stricter_hits, "no mutation hit a stricter rule: the comparison saw nothing"


# ============================================================================ oversized fields


def _field_inputs(base61: Btf, vmlinux618: bytes) -> Iterator[tuple[str, bytes, Btf | None]]:
    cu = _small_cus(1)[0].read_bytes()
    yield "cu", cu, None
    yield "cu+layout", _with_layout(cu), None
    yield "cu+bigendian", _swap_endian(cu), None
    yield "module", _small_modules(1)[0].read_bytes(), base61
    yield "vmlinux-6.18", vmlinux618, None


def test_oversized_header_fields(base61: Btf, vmlinux618: bytes) -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for name, data, base in _field_inputs(base61, vmlinux618):
        h = _hdr(data)
        fields = dict(FIELD_OFFSETS)
        if "layout_off" in h:
            fields.update(LAYOUT_FIELD_OFFSETS)
        for field, off in fields.items():
            orig = h[field]
            for value in (0xFFFFFFFF, 0x80000000, orig + 1, orig + 4):
                err = _reject(_put(data, off, "I", value), base, source=name)
                where = f"{name}: {field}={value:#x}"
                assert err.offset is not None, where
                if value >= 0x80000000:
                    if field == "hdr_len":
                        assert "hdr_len" in err.rule and "implausibly large" in err.rule and err.offset == 4, where
                    else:
                        sect = {"type": "type", "str": "string", "layout": "layout"}[field.split("_")[0]]
                        assert f"{sect} section" in err.rule and "runs past the end" in err.rule, where
                        assert err.offset == off, where
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown_kib < 256 * 1024, f"peak RSS grew by {grown_kib} KiB on oversized length fields"


def test_oversized_vlen_in_every_record_kind(base61: Btf) -> None:
    """vlen 0xFFFFFF (and kind-masked variants) on the first record of each kind:
    the scan stops at that record, never reads past the words, never over-allocates."""
    data = max(_small_cus(6), key=lambda p: p.stat().st_size).read_bytes()
    btf = parse_raw(data)
    seen = 0
    for kind in np.unique(btf.kind).tolist():
        i = int(np.flatnonzero(btf.kind == kind)[0])
        p = int(btf.type_start[i])
        info = int(btf.words[p + 1])
        mutated = _set_word(data, p + 1, (info & 0xFF000000) | 0xFFFFFF)
        res = _parse_guarded(mutated)
        if int(KindSizes().vlen_words[kind]) == 0:
            # vlen does not size this kind: the record still fits, later checks may pass.
            if isinstance(res, Btf):
                _check_accepted(res, mutated)
            continue
        seen += 1
        assert isinstance(res, BtfFormatError)
        assert res.type_id == 1 + i and res.offset == _hdr(data)["hdr_len"] + 4 * p
        assert "vlen 16777215 runs past the end of the type section" in res.rule
    assert seen >= 3


# ============================================================================ named rules


@pytest.fixture(scope="module")
def cu_blob() -> tuple[Path, bytes, Btf]:
    path = max(_small_cus(8), key=lambda p: p.stat().st_size)
    data = path.read_bytes()
    return path, data, parse_raw(data, source=str(path))


def _first_of(btf: Btf, kind: Kind, min_vlen: int = 0) -> int:
    idx = np.flatnonzero((btf.kind == kind) & (btf.vlen >= min_vlen))
    if not len(idx):
        pytest.skip(f"fixture has no {kind.name} with vlen >= {min_vlen}")
    return int(idx[0])


def test_rule_bad_magic(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    err = _load_reject(tmp_path, b"\x9f\xec" + cu_blob[1][2:])
    # load() sees no BTF magic and no ELF magic.
    assert "neither raw BTF" in err.rule and err.offset == 0
    err = _reject(b"\x9f\xec" + cu_blob[1][2:], source="x.btf")
    assert "bad magic 9f ec" in err.rule and err.offset == 0 and "x.btf" in str(err)
    assert "magic" in _reject(b"\x9f").rule


def test_rule_truncated_header(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    err = _load_reject(tmp_path, cu_blob[1][:23])
    assert "truncated header: 23 bytes" in err.rule and err.offset == 23


def test_rule_bad_version_and_flags(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data = cu_blob[1]
    err = _load_reject(tmp_path, _put(data, 2, "B", 2))
    assert "unsupported BTF version 2" in err.rule and err.offset == 2
    err = _load_reject(tmp_path, _put(data, 3, "B", 0x80))
    assert "header flags must be 0, found 0x80" in err.rule and err.offset == 3


def test_rule_hdr_len_lies(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data = cu_blob[1]
    err = _load_reject(tmp_path, _put(data, 4, "I", 20))
    assert "hdr_len 20 is smaller" in err.rule and err.offset == 4
    err = _load_reject(tmp_path, _put(data[:1000], 4, "I", 1001))
    assert "hdr_len 1001 runs past the end of the 1000-byte blob" in err.rule and err.offset == 4
    err = _load_reject(tmp_path, _put(data, 4, "I", 1 << 20))
    assert "implausibly large" in err.rule and err.offset == 4
    # hdr_len 28: bytes 24..28 belong to the header but hold no known field; here
    # they are the first type's name_off, and must be zero.
    types, strings = _sections(data)
    shifted = _put(data, 4, "I", 28)
    err = _load_reject(tmp_path, shifted)
    if types[:4] == b"\0\0\0\0":
        assert "runs past the end" in err.rule
    else:
        assert "header bytes 24..28 are not zero" in err.rule and 24 <= (err.offset or 0) < 28
    # Bytes past the 32-byte header must be zero too.
    long_hdr = _assemble(types, strings, hdr_len=40)
    assert isinstance(_parse_guarded(long_hdr), Btf)
    err = _load_reject(tmp_path, _put(long_hdr, 36, "B", 1))
    assert "header bytes 32..40 are not zero (byte 36 is 0x01)" in err.rule and err.offset == 36


def test_rule_misaligned_sections(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data = cu_blob[1]
    types, strings = _sections(data)
    # type section at offset 2 after the header (two padding bytes)
    tl = len(types)
    hdr = struct.pack("<" + HDR, 0xEB9F, 1, 0, 24, 2, tl, 2 + tl, len(strings))
    err = _load_reject(tmp_path, hdr + b"\0\0" + types + strings)
    assert "type section offset 2 is not 4-byte aligned" in err.rule and err.offset == 8
    hdr = struct.pack("<" + HDR, 0xEB9F, 1, 0, 24, 0, tl - 1, tl, len(strings))
    err = _load_reject(tmp_path, hdr + types + strings)
    assert f"type section length {tl - 1} is not a multiple of 4" in err.rule and err.offset == 12
    # layout section at a misaligned offset / of a length not a multiple of 4
    lay = _with_layout(data)
    h = _hdr(lay)
    err = _load_reject(tmp_path, _put(lay, 28, "I", h["layout_len"] - 2))
    assert "layout section" in err.rule and "4-byte aligned" in err.rule and err.offset == 24


def test_rule_sections_overlap_or_out_of_order(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data = cu_blob[1]
    types, strings = _sections(data)
    tl, sl = len(types), len(strings)
    # strings before types (libbpf: type section must end at or before str_off)
    hdr = struct.pack("<" + HDR, 0xEB9F, 1, 0, 24, sl + (-sl % 4), tl, 0, sl)
    err = _load_reject(tmp_path, hdr + strings + b"\0" * (-sl % 4) + types)
    assert "must end at or before the string section's start" in err.rule and err.offset == 16
    # string section overlapping the type section
    err = _load_reject(tmp_path, _put(data, 16, "I", tl - 4))
    assert "must end at or before" in err.rule or "overlaps" in err.rule
    # layout section overlapping the strings
    lay = _with_layout(data)
    h = _hdr(lay)
    err = _load_reject(tmp_path, _put(lay, 24, "I", h["str_off"]))
    assert "layout section" in err.rule and "overlaps the string section" in err.rule and err.offset == 16


def test_rule_unknown_kind_without_layout(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data, btf = cu_blob[1], cu_blob[2]
    i = btf.nr_types // 2
    p = int(btf.type_start[i])
    info = int(btf.words[p + 1])
    err = _load_reject(tmp_path, _set_word(data, p + 1, (info & ~(0x7F << 24)) | (25 << 24)))
    assert "unknown kind 25" in err.rule and "no layout section" in err.rule
    assert err.type_id == 1 + i and err.offset == 24 + 4 * p
    err = _load_reject(tmp_path, _set_word(data, p + 1, info & ~(0x7F << 24)))
    assert "kind 0 (UNKN) is not a valid record kind" in err.rule and err.type_id == 1 + i


def test_unknown_kind_sized_by_layout_is_accepted(cu_blob: tuple[Path, bytes, Btf]) -> None:
    """The positive twin: a layout section that sizes kind 25 makes the same record parse."""
    data = cu_blob[1]
    types, strings = _sections(data)
    record = struct.pack("<4I", 0, (25 << 24) | 2, 0, 7) + struct.pack("<2I", 1, 2)
    rows = list(DEFAULT_LAYOUT) + [(0, 0)] * 5 + [(4, 4)]
    lay = _with_layout(_assemble(types + record, strings), rows)
    btf = _parse_guarded(lay)
    assert isinstance(btf, Btf) and btf.to_bytes() == lay
    assert int(btf.kind[-1]) == 25 and btf.nr_types == parse_raw(data).nr_types + 1
    # Without the layout the very same record is refused.
    err = _reject(_assemble(types + record, strings))
    assert "unknown kind 25" in err.rule
    # Rebuilding from words with the caller's boundaries sizes kind 25 from the
    # layout bytes the object carries (as flattening or merging does) ...
    again = Btf.from_words(btf.words, btf.strings.data, type_start=btf.type_start, layout=btf.layout, hdr_len=32)
    assert again.to_bytes() == lay
    # ... and refuses the same boundaries when no layout sizes the record.
    with pytest.raises(BtfFormatError, match="type_start entry"):
        Btf.from_words(btf.words, btf.strings.data, type_start=btf.type_start)


def test_rule_layout_section_lies(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data = cu_blob[1]
    rows = list(DEFAULT_LAYOUT)
    rows[int(Kind.STRUCT)] = (0, 13)
    err = _load_reject(tmp_path, _with_layout(data, rows))
    lay_off = 32 + _hdr(_with_layout(data))["layout_off"]
    assert "layout entry for kind 4: info_sz 0 / elem_sz 13 are not multiples of 4" in err.rule
    assert err.offset == lay_off + 4 * int(Kind.STRUCT)
    rows = list(DEFAULT_LAYOUT)
    rows[int(Kind.STRUCT)] = (0, 8)
    err = _load_reject(tmp_path, _with_layout(data, rows))
    assert "kind 4 (STRUCT) says info_sz 0 / elem_sz 8" in err.rule and "elem_sz 12" in err.rule
    lay = _with_layout(data)
    h = _hdr(lay)
    err = _load_reject(tmp_path, _put(lay, 28, "I", len(lay) - 32 - h["layout_off"] + 4))
    assert "layout section" in err.rule and "runs past the end" in err.rule and err.offset == 28


def test_rule_vlen_overrun(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data, btf = cu_blob[1], cu_blob[2]
    i = _first_of(btf, Kind.STRUCT, 1)
    p = int(btf.type_start[i])
    info = int(btf.words[p + 1])
    room = (btf.type_len // 4 - p - 3) // 3  # members that would still fit
    err = _load_reject(tmp_path, _set_word(data, p + 1, (info & 0xFF000000) | (room + 1)))
    assert f"STRUCT with vlen {room + 1} runs past the end of the type section" in err.rule
    assert err.type_id == 1 + i and err.offset == 24 + 4 * p


def test_rule_string_offsets_out_of_range(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data, btf = cu_blob[1], cu_blob[2]
    end = btf.strings.end_off
    i = btf.nr_types - 1
    p = int(btf.type_start[i])
    err = _load_reject(tmp_path, _set_word(data, p, end))
    assert f"name_off {end} is outside the string section (strings end at {end})" in err.rule
    assert err.type_id == 1 + i and err.offset == 24 + 4 * p
    s = _first_of(btf, Kind.STRUCT, 1)
    q = int(btf.type_start[s]) + 3
    err = _load_reject(tmp_path, _set_word(data, q, 0xFFFFFFFF))
    assert "member/param/enumerator name_off 4294967295 is outside the string section" in err.rule
    assert err.type_id == 1 + s and err.offset == 24 + 4 * q


def test_rule_type_ids_out_of_range(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data, btf = cu_blob[1], cu_blob[2]
    cnt = btf.type_cnt
    i = _first_of(btf, Kind.PTR)
    p = int(btf.type_start[i])
    err = _load_reject(tmp_path, _set_word(data, p + 2, cnt))
    assert f"PTR type refers to type ID {cnt}, but the last type ID is {cnt - 1}" in err.rule
    assert err.type_id == 1 + i and err.offset == 24 + 4 * (p + 2)
    s = _first_of(btf, Kind.STRUCT, 2)
    q = int(btf.type_start[s]) + 4 + 3
    err = _load_reject(tmp_path, _set_word(data, q, 0x80000000))
    assert "STRUCT member 1 type refers to type ID 2147483648" in err.rule and err.type_id == 1 + s
    f = _first_of(btf, Kind.FUNC)
    target = int(btf.size_type[f])
    int_id = 1 + _first_of(btf, Kind.INT)
    err = _load_reject(tmp_path, _set_word(data, int(btf.type_start[f]) + 2, int_id))
    assert f"FUNC refers to type [{int_id}], which is INT, not a FUNC_PROTO" in err.rule and err.type_id == 1 + f
    assert target != int_id


def test_rule_string_section_nul_bytes(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    data = cu_blob[1]
    h = _hdr(data)
    s0 = h["hdr_len"] + h["str_off"]
    err = _reject(_put(data, s0, "B", ord("x")), source="cu.btf")
    assert "string section must start with a NUL byte" in err.rule and err.offset == s0 and "cu.btf" in str(err)
    err = _load_reject(tmp_path, _put(data, len(data) - 1, "B", ord("x")))
    assert "string section does not end with a NUL byte" in err.rule and err.offset == len(data) - 1
    types, _strings = _sections(data)
    err = _reject(_assemble(types, b""))
    assert "string section is empty" in err.rule
    # Through load() without a base, a string section that is empty or does not
    # start with NUL is what split BTF looks like: a usage error that asks for --base.
    for bad in (_put(data, s0, "B", ord("x")), _assemble(types, b"")):
        path = tmp_path / "maybe_split.btf"
        path.write_bytes(bad)
        with pytest.raises(BtfUsageError, match="--base") as info:
            load(str(path))
        assert str(path) in str(info.value)


def test_rule_split_on_wrong_base(tmp_path: Path, base61: Btf) -> None:
    """A module's split BTF on a small unrelated base: its type IDs and string
    offsets fall outside the ranges, and the message asks about the base."""
    small = _small_cus(1)[0]
    wrong = load(str(small))
    hits = 0
    for mod in _small_modules(6):
        data = mod.read_bytes()
        err = _load_reject(tmp_path, data, base=wrong, name=mod.name)
        assert re.search(r"outside the string section|refers to type|not a FUNC_PROTO", err.rule), err
        assert f"is the base {small}" in err.rule and err.type_id is not None and err.type_id >= wrong.type_cnt
        hits += 1
        # and the right base takes it
        assert isinstance(_parse_guarded(data, base61), Btf)
    assert hits


def test_rule_split_on_base_of_other_byte_order(tmp_path: Path, base61: Btf) -> None:
    be_base = parse_raw(_swap_endian(base61.to_bytes()), source="vmlinux-6.1.be.btf")
    assert be_base.type_cnt == base61.type_cnt
    mod = _small_modules(1)[0]
    err = _load_reject(tmp_path, mod.read_bytes(), base=be_base)
    assert "split BTF is little endian but its base vmlinux-6.1.be.btf is big endian" in err.rule
    assert err.offset == 0
    # a big-endian split on a little-endian base
    be_split = _swap_endian(mod.read_bytes())
    err = _reject(be_split, base61)
    assert "split BTF is big endian" in err.rule
    # and matching orders work: the swapped split on the swapped base
    ok = _parse_guarded(be_split, be_base)
    assert isinstance(ok, Btf) and ok.to_bytes() == be_split


def test_rule_wrong_type_start_from_caller(cu_blob: tuple[Path, bytes, Btf]) -> None:
    """Btf.from_words with boundaries that do not match the words is refused
    before the compiled walks could index with them."""
    btf = cu_blob[2]
    strings = btf.strings.data
    good = btf.type_start.copy()
    assert Btf.from_words(btf.words, strings, type_start=good).nr_types == btf.nr_types
    for name, ts in {
        "shifted": np.concatenate([good[:3], good[3:-1] + 1, good[-1:]]),
        "past end": np.concatenate([good[:-1], [good[-1] + 300]]),
        "short": good[:-1],
        "not starting at 0": good + 3,
        "descending": good[::-1].copy(),
        "empty": np.zeros(0, dtype=np.int64),
    }.items():
        with pytest.raises(BtfFormatError, match="type_start entry"):
            Btf.from_words(btf.words, strings, type_start=ts)
        assert name


def test_truncated_compressed_input_through_load(tmp_path: Path) -> None:
    _need(VMLINUX_618)
    raw = VMLINUX_618.read_bytes()
    err = _load_reject(tmp_path, raw[: len(raw) // 2], name="vmlinux.btf.xz")
    assert "xz" in err.rule


# ============================================================================ compiled bounds


#: The compiled walks a parse or a merge runs through, rebuilt with bounds checking.
_WALK_MODULES = ("btfdedup/model/scan.pyx", "btfdedup/append_walk.pyx")

_BOUNDSCHECK_SETUP = """
import sys
from Cython.Build import cythonize
from setuptools import Extension, setup
mods = sys.argv[1:]
sys.argv[1:] = ["build_ext", "--inplace", "-q"]
setup(ext_modules=cythonize(
    [Extension(m[:-4].replace("/", "."), [m], extra_compile_args=["-O0"]) for m in mods],
    compiler_directives={"language_level": 3, "boundscheck": True, "wraparound": False,
                         "initializedcheck": True, "cdivision": True},
    quiet=True, force=True,
))
"""

_BOUNDSCHECK_DRIVER = """
import contextlib, lzma, random, sys
import numpy as np
from btfdedup import append_walk
from btfdedup.append import merge
from btfdedup.errors import BtfError
from btfdedup.io.raw import parse_raw
from btfdedup.model import fields as f, scan
from btfdedup.model.btf import Btf
from btfdedup.model.records import KindSizes
from btfdedup.model.strindex import StringIndex
from btfdedup.model.strings import StringTable
from tests.test_io_malformed import BASE_61, _flips, _set_word, _small_cus, _small_modules

build = sys.argv[1]
assert scan.__file__.startswith(build) and append_walk.__file__.startswith(build), (scan.__file__, build)
n = 0

def attempt(fn, *args, **kw):
    global n
    n += 1
    with contextlib.suppress(BtfError, ValueError):
        return fn(*args, **kw)

base = parse_raw(lzma.decompress(BASE_61.read_bytes()))
inputs = [(p.read_bytes(), None) for p in _small_cus(6)] + [(p.read_bytes(), base) for p in _small_modules(6)]
rng = random.Random(99)
# Reader: vlen and kind mutations of sampled records, random flips.
for data, b in inputs:
    btf = parse_raw(data, base=b)
    for i in range(0, btf.nr_types, max(1, btf.nr_types // 40)):
        p = int(btf.type_start[i])
        for vlen in (1, 2, 0xFFFF, 0xFFFFFF):
            attempt(parse_raw, _set_word(data, p + 1, (int(btf.words[p + 1]) & 0xFF000000) | vlen), base=b)
        for kind in (4, 6, 13, 15, 19, 20, 127):
            attempt(parse_raw, _set_word(data, p + 1, (kind << 24) | (int(btf.words[p + 1]) & 0xFFFFFF)), base=b)
parsed = []
for _ in range(600):
    data, b = rng.choice(inputs)
    got = attempt(parse_raw, _flips(data, rng)[1], base=b)
    if got is not None and got.base is None:
        parsed.append(got)
# Merge walk over every flipped input that still parsed (strings and IDs rewritten).
for i in range(0, len(parsed), 4):
    attempt(merge, parsed[i : i + 4])
btf = parse_raw(inputs[0][0])
good = btf.type_start
lies = [good + 1, good[::-1].copy(), good * 1000, good - 5, np.concatenate([good[:-1], [1 << 40]]),
        np.concatenate([good[:2], good[2:] + 7]), np.concatenate([good[:3], good[4:]]), good[:1].copy(),
        np.full_like(good, -1)]
sizes = KindSizes()
tables = (f.TID_FIRST, f.TID_STRIDE, f.TID_FIXED, f.TID_PER_VLEN, f.STR_STRIDE, f.STR_PER_VLEN)
for ts in lies:
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    # checked construction, and the compiled walks called on their own with the lie
    attempt(Btf.from_words, btf.words, btf.strings.data, type_start=ts)
    attempt(scan.first_bad_start, btf.words, ts, sizes.fixed_words, sizes.vlen_words, sizes.known)
    attempt(scan.first_bad_field, btf.words, ts, btf.strings.end_off, btf.type_cnt, *tables)
    # a hand-built (unchecked) Btf with the lie, merged
    attempt(merge, [Btf(btf.words, ts, btf.strings)])
    out = np.zeros(64, dtype=np.uint8)
    own = np.frombuffer(btf.strings.data, dtype=np.uint8)
    for t1 in (1, len(ts) - 1):
        for own_memo in (np.full(len(own), 0xFFFFFFFF, dtype=np.uint32), np.zeros(3, dtype=np.uint32)):
            attempt(append_walk.append_types, btf.words.copy(), ts, 0, max(0, t1), 0, 1, 0, own, 0,
                    own_memo, np.full(1, 0xFFFFFFFF, dtype=np.uint32), StringIndex(b"\\0"), out, 1, *tables)
# Sections shorter than one record header, straight into every compiled walk.
for n_w in (0, 1, 2, 4):
    w = np.ascontiguousarray(btf.words[:n_w])
    attempt(scan.scan, w, sizes.fixed_words, sizes.vlen_words, sizes.known)
    attempt(scan.scan_checked, w, sizes.fixed_words, sizes.vlen_words, sizes.known, 1, 1, *tables)
    for ts in ([0], [0, n_w], [0, 1], [0, 3], [0, n_w, n_w + 3]):
        ts = np.array(ts, dtype=np.int64)
        attempt(scan.first_bad_start, w, ts, sizes.fixed_words, sizes.vlen_words, sizes.known)
        attempt(scan.first_bad_field, w, ts, btf.strings.end_off, btf.type_cnt, *tables)
        attempt(merge, [Btf(w, ts, btf.strings)])
# String offsets past every blob, through a hand-built Btf and through intern_offsets.
bad_words = btf.words.copy()
bad_words[int(good[0])] = len(btf.strings.data) + 5
attempt(merge, [Btf(bad_words, good, btf.strings)])
attempt(merge, [Btf(btf.words, good, StringTable(b"\\0"))])
# Strings without their NUL: every string runs to the end of the blob.
attempt(merge, [Btf(btf.words, good, StringTable(b"\\0" + b"x" * len(btf.strings.data)))])
for offs, srcs in (([1 << 40], [0]), ([-3], [0]), ([1], [5]), ([1], [-1]), ([len(btf.strings.data)], [0])):
    attempt(append_walk.intern_offsets, np.array(offs, dtype=np.int64), np.array(srcs, dtype=np.int64), 0,
            np.frombuffer(btf.strings.data + b"\\0", dtype=np.uint8), np.array([0, len(btf.strings.data)]),
            np.zeros(1, dtype=np.int64), StringIndex(b"\\0"), np.zeros(64, dtype=np.uint8), 1)
# Tables too short or with entries the proofs exclude.
for bad in (np.zeros(5, dtype=np.int64), np.full(128, 1 << 40, dtype=np.int64), np.full(128, -1, dtype=np.int64)):
    attempt(scan.scan, btf.words, bad, sizes.vlen_words, sizes.known)
    attempt(scan.scan_checked, btf.words, sizes.fixed_words, sizes.vlen_words, sizes.known, 1, 1, bad, *tables[1:])
    attempt(scan.first_bad_field, btf.words, good, btf.strings.end_off, btf.type_cnt, bad, *tables[1:])
print(n)
"""


def test_compiled_walks_stay_in_bounds(tmp_path: Path) -> None:
    """setup.py compiles the walks without bounds checks, so an index their proofs
    missed would read or write outside an array silently.  Rebuild the walks the
    reader and the merge run through with Cython's bounds checking on (a copy of the
    package in a temporary directory), then drive vlen/kind mutations of every
    sampled record, random flips, merges of what still parses, lying record
    boundaries and string offsets, and bad tables through it, also straight into
    the compiled functions: every input must end in a typed error, never in an
    IndexError (raised, or reported as unraisable from a helper) or a signal."""
    _need(CUS)
    _need(BASE_61)
    import Cython  # noqa: F401  (the test extra installs it; a missing one must fail, not skip)

    repo = FIXTURES.parent
    build = tmp_path / "pkg"
    shutil.copytree(repo / "btfdedup", build / "btfdedup", ignore=shutil.ignore_patterns("__pycache__", "*.c", "*.html"))
    for mod in _WALK_MODULES:
        for so in (build / mod).parent.glob(Path(mod).stem + ".*.so"):
            so.unlink()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(build), str(repo)]))
    made = subprocess.run([sys.executable, "-c", _BOUNDSCHECK_SETUP, *_WALK_MODULES], cwd=build, env=env,
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    for mod in _WALK_MODULES:
        c_code = (build / mod).with_suffix(".c").read_text()
        assert "__Pyx_RaiseBufferIndexError" in c_code, f"{mod} was not built with bounds checks"
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", _BOUNDSCHECK_DRIVER, str(build)],
                          cwd=build, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-3000:]}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "IndexError" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr[-3000:]
    assert int(proc.stdout.strip().splitlines()[-1]) > 1000


# ============================================================================ CLI


def test_cli_dump_of_malformed_input_is_one_error_line(tmp_path: Path, cu_blob: tuple[Path, bytes, Btf]) -> None:
    import importlib.util

    if importlib.util.find_spec("btfdedup.cli.dump") is None:
        pytest.skip("the dump verb (btfdedup/cli/dump.py) does not exist yet")
    found = os.environ.get("BTFDEDUP_EXE") or shutil.which("btfdedup", path=os.path.dirname(sys.executable))
    if not found:
        pytest.skip("the btfdedup console script is not installed next to this Python")
    exe = Path(found)
    data, btf = cu_blob[1], cu_blob[2]
    p = int(btf.type_start[btf.nr_types // 2])
    cases = {
        "magic.btf": b"\x00\x00" + data[2:],
        "trunc.btf": data[: len(data) // 2],
        "len4g.btf": _put(data, 12, "I", 0xFFFFFFFF),
        "kind.btf": _set_word(data, p + 1, 0x7F000000),
    }
    for name, bad in cases.items():
        path = tmp_path / name
        path.write_bytes(bad)
        proc = subprocess.run([str(exe), "dump", str(path)], capture_output=True, text=True, timeout=120)
        lines = proc.stderr.splitlines()
        assert proc.returncode == 1, (name, proc.returncode, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("btfdedup: error: "), (name, proc.stderr)
        assert str(path) in lines[0], (name, lines[0])
        assert "Traceback" not in proc.stderr
