"""Committed outputs of the judges, so every byte-identity check runs without them.

btfdedup is judged against libbpf (v1.6 from the pylibbpf 0.0.6 wheel, and the
system's 1.1.2) and bpftool 7.1.0.  A CI machine may have neither, so the judges'
outputs for every committed fixture and hand-built case are committed here, one
JSON file per family (``dedup_v16.json``, ``merge_v16.json``, ``bpftool_dump.json``,
...)::

    {"family": "...", "judge": "libbpf v1.6 (pylibbpf 0.0.6 wheel)",
     "regenerate": "python tests/expected/make_libbpf_v16.py",
     "entries": {"corpora/cus/cu1412.btf::dedup": {"sha256": "...", "size": 1234,
                                                    "input_sha256": "..."}}}

Keys are ``<input path relative to the repo root>::<case>`` (for a hand-built input,
the test file and test name stand in for the path).  An entry is the sha256 and size
of the judge's output bytes, or ``{"errno": N}`` when the judge refused the input;
small text outputs also keep the ``text`` itself, to point at the first differing
line.  ``input_sha256`` covers the judge's inputs, so a changed fixture or builder
is reported as a stale expectation rather than as a wrong result.

:meth:`Family.check` is what a test calls.  Always: our output must match the
committed entry — a missing entry or a difference FAILS the test (never skips).
When the judge is present, it also runs live: our bytes must equal its bytes (a
plain ``==`` that pytest can diff) and its bytes must equal the committed entry (so
a stale expectation cannot hide).

Recording: with ``BTFDEDUP_RECORD_EXPECTED=<family>[,<family>...]`` (or ``all``) the
check stores the live judge's output instead of reading the committed one (the
judge must be present, or the test fails), and ``tests/conftest.py`` writes the
recorded families at the end of the session.  The ``make_*.py`` scripts next to
this file do exactly that over the right test files; re-run them when a fixture
under ``corpora/`` is added or changed, when a judged test case is added or its
input changes, or when the pinned judge version changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.oracle.libbpf import Libbpf, OracleError, OracleUnavailable, find_bpftool

EXPECTED_DIR = Path(__file__).resolve().parent
REPO = EXPECTED_DIR.parent.parent
RECORD_ENV = "BTFDEDUP_RECORD_EXPECTED"
PRUNE_ENV = "BTFDEDUP_RECORD_PRUNE"

#: outputs up to this many bytes keep their text in the entry (for first-diff messages)
TEXT_KEEP_BYTES = 4096


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rel(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the repository root, the form every key starts with."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(p)


def case_key(case: str) -> str:
    """Key for a hand-built input: the running test's node ID (its file stands in for a
    fixture path) and ``case``."""
    node = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    if not node:
        raise RuntimeError("case_key() outside a running test")
    return f"{node}::{case}"


def inputs_digest(inputs: bytes | Sequence[bytes]) -> str:
    """One sha256 over the judge's inputs (each length-prefixed, so splits are unambiguous)."""
    if isinstance(inputs, bytes | bytearray | memoryview):
        return sha256(bytes(inputs))
    h = hashlib.sha256()
    for blob in inputs:
        h.update(len(blob).to_bytes(8, "little"))
        h.update(blob)
    return h.hexdigest()


# ------------------------------------------------------------------ judges
@dataclass(frozen=True)
class Judge:
    """A reference tool: how to reach it live and how to describe its exact version."""

    name: str
    get: Callable[[], Any]  # the live handle; raises OracleUnavailable when absent
    describe: Callable[[Any], str]

    def live(self) -> Any | None:
        """The live judge, or None when it is not installed (or hidden)."""
        try:
            return self.get()
        except OracleUnavailable:
            return None


def _v16_describe(lib: Libbpf) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        wheel = version("pylibbpf")
    except PackageNotFoundError:
        wheel = "unknown"
    return f"libbpf v{lib.version[0]}.{lib.version[1]} (pylibbpf {wheel} wheel)"


def _system_describe(lib: Libbpf) -> str:
    real = os.path.realpath(lib.path)
    name = os.path.basename(real)
    full = name.split(".so.", 1)[1] if ".so." in name else f"{lib.version[0]}.{lib.version[1]}"
    return f"libbpf {full} ({real})"


def _bpftool() -> str:
    path = find_bpftool()
    if path is None:
        raise OracleUnavailable("bpftool is not installed (or hidden)")
    return path


def _bpftool_describe(path: str) -> str:
    out = subprocess.run([path, "version"], capture_output=True, text=True, check=False).stdout
    return "; ".join(line.strip() for line in out.splitlines() if line.strip())


LIBBPF_V16 = Judge("libbpf v1.6", Libbpf.v16, _v16_describe)
LIBBPF_SYSTEM = Judge("libbpf 1.1.2 (system)", Libbpf.system, _system_describe)
BPFTOOL = Judge("bpftool 7.1.0", _bpftool, _bpftool_describe)


# ----------------------------------------------------------------- outcomes
def _entry_of(output: bytes | OracleError, inputs: bytes | Sequence[bytes] | None, text: bool) -> dict[str, Any]:
    if isinstance(output, OracleError):
        entry: dict[str, Any] = {"errno": output.errno}
    else:
        entry = {"sha256": sha256(output), "size": len(output)}
        if text and len(output) <= TEXT_KEEP_BYTES:
            try:
                entry["text"] = output.decode("utf-8")
            except UnicodeDecodeError:
                entry["text_b16"] = output.hex()
    if inputs is not None:
        entry["input_sha256"] = inputs_digest(inputs)
    return entry


def _first_line_diff(ours: bytes, ref: bytes) -> str:
    a, b = ours.split(b"\n"), ref.split(b"\n")
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"first difference at line {n + 1}: ours {x[:200]!r} != judge's {y[:200]!r}"
    return f"ours has {len(a)} lines, the judge's {len(b)}"


def _describe_entry(entry: dict[str, Any]) -> str:
    if "errno" in entry:
        return f"the judge refused the input (errno {entry['errno']} {os.strerror(entry['errno'])})"
    return f"{entry['size']} bytes, sha256 {entry['sha256']}"


# ------------------------------------------------------------------ families
@dataclass
class Family:
    """One expectations file (``tests/expected/<name>.json``) judged by one tool."""

    name: str
    judge: Judge
    generator: str
    _committed: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return EXPECTED_DIR / f"{self.name}.json"

    def recording(self) -> bool:
        want = os.environ.get(RECORD_ENV, "")
        names = {w.strip() for w in want.split(",") if w.strip()}
        return "all" in names or self.name in names

    def committed(self) -> dict[str, Any]:
        if self._committed is None:
            if self.path.exists():
                self._committed = json.loads(self.path.read_text())
            else:
                self._committed = {"judge": None, "entries": {}}
        return self._committed

    def entry(self, key: str) -> dict[str, Any]:
        """The committed entry for ``key`` (the one just recorded, when recording); a
        missing one fails the test."""
        doc = self.committed()
        entry = doc["entries"].get(key)
        if self.recording():
            entry = _RECORDER.entries.get(self.name, {}).get(key, entry)
        if entry is None:
            pytest.fail(
                f"no committed expectation {key!r} in {rel(self.path)} (judge: {self.judge.name}); "
                f"run `python {self.generator}` where the judge is installed and commit the result",
                pytrace=False,
            )
        return dict(entry)

    # The one check every judged test goes through.
    def check(
        self,
        key: str,
        ours: bytes | Callable[[], bytes],
        judge_output: Callable[[Any], bytes],
        *,
        inputs: bytes | Sequence[bytes] | None = None,
        ours_errors: type[BaseException] | tuple[type[BaseException], ...] = (),
        text: bool = False,
    ) -> bytes:
        """Check our output against the judge's for case ``key``; return the judge's bytes.

        ``ours`` is our output (or a thunk producing it; an exception of ``ours_errors``
        counts as "refused").  ``judge_output(handle)`` runs the live judge on the same
        inputs; an :class:`OracleError` from it means the judge refused the input, and
        then ours must refuse too.  The returned bytes are the judge's output: live when
        the judge is present, else ours once proven equal to the committed hash.
        """
        ours_out: bytes | BaseException
        if callable(ours):
            try:
                ours_out = ours()
            except ours_errors as e:  # type: ignore[misc]
                ours_out = e
        else:
            ours_out = ours
        handle = self.judge.live()
        if self.recording():
            if handle is None:
                pytest.fail(f"recording {self.name}: the judge {self.judge.name} is not available", pytrace=False)
            _RECORDER.describe(self, self.judge.describe(handle))
        live: bytes | OracleError | None = None
        if handle is not None:
            try:
                live = judge_output(handle)
            except OracleError as e:
                live = e
            if self.recording():
                _RECORDER.add(self, key, _entry_of(live, inputs, text))
        # 1. against the live judge, when there is one (plain == for pytest's diff)
        if isinstance(live, OracleError):
            assert isinstance(ours_out, BaseException), (
                f"{key}: the judge ({self.judge.name}) refused the input ({live}) but ours produced output"
            )
        elif live is not None:
            if isinstance(ours_out, BaseException):
                raise AssertionError(f"{key}: ours refused ({ours_out}) but the judge produced output") from ours_out
            if text and ours_out != live:
                raise AssertionError(f"{key}: {_first_line_diff(ours_out, live)} ({self.judge.name})")
            assert ours_out == live, f"{key}: ours differs from {self.judge.name}"
        if self.recording():
            return live if isinstance(live, bytes) else b""
        # 2. against the committed expectation, always
        entry = self.entry(key)
        if inputs is not None and entry.get("input_sha256") not in (None, inputs_digest(inputs)):
            pytest.fail(
                f"{key}: the committed expectation in {rel(self.path)} was recorded for other inputs "
                f"(the fixture or the test's builder changed); re-run `python {self.generator}`",
                pytrace=False,
            )
        if live is not None:
            got = _entry_of(live, None, False)
            want = {k: v for k, v in entry.items() if k in ("errno", "sha256", "size")}
            assert got == want, (
                f"{key}: the live judge ({self.judge.describe(handle)}) gives {_describe_entry(got)}, "
                f"the committed expectation ({self.committed().get('judge')}) {_describe_entry(want)}; "
                f"re-run `python {self.generator}` if the judge is the pinned one"
            )
        if "errno" in entry:
            assert isinstance(ours_out, BaseException), (
                f"{key}: {_describe_entry(entry)} per {rel(self.path)}, but ours produced output"
            )
            return b""
        if isinstance(ours_out, BaseException):
            raise AssertionError(f"{key}: ours refused ({ours_out}); {_describe_entry(entry)} expected") from ours_out
        if (sha256(ours_out), len(ours_out)) != (entry["sha256"], entry["size"]):
            detail = ""
            if "text" in entry:
                detail = "; " + _first_line_diff(ours_out, entry["text"].encode("utf-8"))
            elif "text_b16" in entry:
                detail = "; " + _first_line_diff(ours_out, bytes.fromhex(entry["text_b16"]))
            pytest.fail(
                f"{key}: ours is {len(ours_out)} bytes, sha256 {sha256(ours_out)}; the judge's "
                f"({self.committed().get('judge')}) committed in {rel(self.path)} is "
                f"{_describe_entry(entry)}{detail}",
                pytrace=False,
            )
        return live if isinstance(live, bytes) else ours_out


class VerdictLog:
    """A judge's accept/refuse verdicts over one test's sequence of inputs, committed as
    one string of 0s and 1s under ``key`` (with the digest of all the inputs).

    Where the judge is installed each :meth:`verdict` asks it live; where it is not, the
    committed verdicts are replayed in order.  :meth:`finish` (call it at the end of the
    test) checks that the inputs were the committed ones and, when live, that the judge
    still gives the committed verdicts; a missing entry fails the test.
    """

    def __init__(self, family: Family, key: str) -> None:
        self.family = family
        self.key = key
        self.handle = family.judge.live()
        self.inputs: list[bytes] = []
        self.verdicts = bytearray()
        self.replay: str | None = None
        if self.handle is None:
            entry = family.entry(key)
            if "text" not in entry:
                pytest.fail(f"{key}: the committed entry in {rel(family.path)} has no verdict string", pytrace=False)
            self.replay = entry["text"]

    def verdict(self, data: bytes, live: Callable[[Any], bool]) -> bool:
        """The judge's verdict on ``data``: ``live(handle)`` when installed, else the committed one."""
        i = len(self.verdicts)
        self.inputs.append(bytes(data))
        if self.replay is not None:
            if i >= len(self.replay):
                pytest.fail(f"{self.key}: more inputs than the {len(self.replay)} committed verdicts; re-run "
                            f"`python {self.family.generator}`", pytrace=False)
            ok = self.replay[i] == "1"
        else:
            ok = bool(live(self.handle))
        self.verdicts.append(ord("1") if ok else ord("0"))
        return ok

    def finish(self) -> None:
        used = bytes(self.verdicts)
        self.family.check(self.key, used, lambda _handle: used, inputs=self.inputs, text=True)


# ----------------------------------------------------------------- recording
class _Recorder:
    """Entries recorded during a session, written by :func:`write_recorded` at its end."""

    def __init__(self) -> None:
        self.families: dict[str, Family] = {}
        self.judges: dict[str, str] = {}
        self.entries: dict[str, dict[str, Any]] = {}

    def describe(self, fam: Family, judge: str) -> None:
        self.families[fam.name] = fam
        self.judges.setdefault(fam.name, judge)

    def add(self, fam: Family, key: str, entry: dict[str, Any]) -> None:
        self.entries.setdefault(fam.name, {})[key] = entry


_RECORDER = _Recorder()


def write_recorded() -> list[Path]:
    """Write every family recorded in this session; return the files written.

    Recorded entries replace committed ones; the others are kept unless
    ``BTFDEDUP_RECORD_PRUNE=1`` (set by the ``make_*.py`` scripts, which run every
    test of the family, so an entry nobody recorded belongs to a removed case).
    """
    written = []
    prune = os.environ.get(PRUNE_ENV, "") not in ("", "0")
    for name, fam in _RECORDER.families.items():
        entries = {} if prune else dict(fam.committed()["entries"])
        entries.update(_RECORDER.entries.get(name, {}))
        doc = {
            "family": name,
            "judge": _RECORDER.judges[name],
            "regenerate": f"python {fam.generator}",
            "entries": dict(sorted(entries.items())),
        }
        fam.path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
        fam._committed = None
        written.append(fam.path)
    return written


def judges_report() -> list[str]:
    """One line per judge: live (with its version) or absent (committed expectations only)."""
    lines = []
    for judge in (LIBBPF_V16, LIBBPF_SYSTEM, BPFTOOL):
        handle = judge.live()
        if handle is None:
            lines.append(f"judge {judge.name}: absent, checks use the committed expectations only")
        else:
            lines.append(f"judge {judge.name}: live ({judge.describe(handle)}) and committed expectations")
    return lines


def run_generator(families: Sequence[str], test_files: Sequence[str], extra: Sequence[str] = ()) -> int:
    """Run ``test_files`` under pytest recording ``families`` (pruned); the body of every make_*.py."""
    import sys

    env = dict(os.environ)
    env[RECORD_ENV] = ",".join(families)
    env[PRUNE_ENV] = "1"
    env.pop("BTFDEDUP_NO_ORACLES", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not corpus", *extra, *test_files]
    return subprocess.run(cmd, cwd=REPO, env=env, check=False).returncode


# -------------------------------------------------------------- the families
_MAKE_V16 = "tests/expected/make_libbpf_v16.py"
_MAKE_SYSTEM = "tests/expected/make_libbpf_system.py"
_MAKE_BPFTOOL = "tests/expected/make_bpftool.py"

#: btf__dedup (libbpf v1.6) of committed fixtures, fixture merges and hand-built blobs
DEDUP_V16 = Family("dedup_v16", LIBBPF_V16, _MAKE_V16)
#: btf__add_btf / btf__add_type merges (libbpf v1.6), no dedup
MERGE_V16 = Family("merge_v16", LIBBPF_V16, _MAKE_V16)
#: libbpf v1.6 parsing and re-serialising: btf__new(_split), btf__parse_elf, btf_ext__new
PARSE_V16 = Family("parse_v16", LIBBPF_V16, _MAKE_V16)
#: btf__add_btf / module recipe / btf__dedup (libbpf v1.6) of the fixed hypothesis corpus
DEDUP_HYPOTHESIS_V16 = Family("dedup_hypothesis_v16", LIBBPF_V16, "tests/expected/make_dedup_hypothesis_corpus.py")
#: bpftool 7.1.0 ``btf dump`` text (raw, -j, -p) of every committed fixture
BPFTOOL_DUMP = Family("bpftool_dump", BPFTOOL, _MAKE_BPFTOOL)
