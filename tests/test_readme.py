"""Every command and code block of README.md runs, as a user would run it.

Extraction (so a new example can never drift): every indented code block of the
README (four spaces after a blank line, outside fences) is shell, one command per
line, and every fenced block marked ``python`` is Python; fenced ``sh``/``bash``/
``shell``/``console`` blocks are shell too.  Fenced blocks with no language (the
layout tree) are text.  The examples run in order, in one temporary directory
where ``corpora`` links to the committed fixtures, so relative paths resolve and
outputs land in the temporary directory; ``btfdedup`` and ``python`` are the ones
of the environment running the tests.

What is adapted, and why:

* Environment setup segments of a ``&&`` chain (``python3 -m venv``, sourcing
  ``.venv/bin/activate``, ``pip install -e '.[X]'``) are satisfied by the
  environment running this test, which is that install; the extra ``X`` named must
  exist in pyproject.toml.  The rest of the chain runs.
* The test-suite command (``python -m pytest ...``) cannot run the suite from
  inside the suite; it runs with ``--collect-only`` in the checkout, proving that
  the command line is right and that every test module imports.
* ``sudo`` is dropped: the commands run with this process's privileges.  Segments
  that need bpf(2) (``btfdedup kernel ...``) run only when BPF_BTF_LOAD works
  here; otherwise the segments before them run and the example is skipped with
  the kernel's reason.  Examples reading ``/sys/kernel/btf`` skip when the running
  kernel has no BTF there.

Where bpftool is installed, ``btfdedup dump`` examples are also compared with
bpftool's output for the same file (the README says "same text as bpftool").
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests._kernel_probe import probe_skip_reason
from tests.oracle.libbpf import find_bpftool

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SHELL_LANGS = {"sh", "bash", "shell", "console"}
TIMEOUT = 600


@dataclass(frozen=True)
class Example:
    """One runnable piece of the README: a shell command line or a Python block."""

    lang: str  # "shell" or "python"
    code: str
    line: int  # 1-based line of the README where it starts

    @property
    def id(self) -> str:
        head = self.code.strip().splitlines()[0] if self.code.strip() else ""
        return f"L{self.line}:{head[:60]}"


def extract(text: str) -> list[Example]:
    """Every command line of the indented blocks and every python/shell fenced block, in order."""
    out: list[Example] = []
    lines = text.splitlines()
    fence: str | None = None
    fence_lang = ""
    fence_start = 0
    body: list[str] = []
    in_indented = False
    prev_blank = True
    for n, line in enumerate(lines, 1):
        if fence is not None:
            if line.strip() == fence:
                code = "\n".join(body) + "\n"
                if fence_lang == "python":
                    out.append(Example("python", code, fence_start + 1))
                elif fence_lang in SHELL_LANGS:
                    for k, cmd in enumerate(body):
                        if cmd.strip() and not cmd.lstrip().startswith("#"):
                            out.append(Example("shell", cmd.lstrip("$ ").strip(), fence_start + 1 + k + 1))
                fence = None
            else:
                body.append(line)
            continue
        m = re.match(r"^(```+|~~~+)\s*([\w+-]*)", line)
        if m:
            fence, fence_lang, fence_start, body = m.group(1), m.group(2).lower(), n, []
            in_indented = False
            prev_blank = False
            continue
        is_code = line.startswith("    ") and line.strip() != ""
        if is_code and (in_indented or prev_blank):
            in_indented = True
            out.append(Example("shell", line.strip(), n))
        elif line.strip():
            in_indented = False
        prev_blank = line.strip() == ""
    assert fence is None, f"README.md: the fence opened at line {fence_start} is never closed"
    return out


EXAMPLES = extract(README.read_text())

# ------------------------------------------------------------------ adapting commands
_SETUP = (
    re.compile(r"^python3? -m venv \S+$"),
    re.compile(r"^(\.|source) \S*\.venv/bin/activate$"),
    re.compile(r"^(python3? -m )?pip install -e (\S+)$"),
)
_KERNEL = re.compile(r"\bbtfdedup kernel\b")


def _pip_extra(segment: str) -> str | None:
    m = _SETUP[2].match(segment)
    if not m:
        return None
    spec = shlex.split(m.group(2))[0]
    em = re.match(r"^\.\[([\w,-]+)\]$", spec)
    return em.group(1) if em else ""


@dataclass
class Plan:
    """How one shell example runs here."""

    segments: list[str]  # the ``&&`` chain to run
    cwd: Path
    skip_after: str | None = None  # a reason: the remaining segments need what is missing


def plan(example: Example, workdir: Path) -> Plan:
    segments = [s.strip() for s in example.code.split(" && ")]
    kept: list[str] = []
    cwd = workdir
    for seg in segments:
        if any(p.match(seg) for p in _SETUP):
            extra = _pip_extra(seg)
            if extra:
                extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
                for x in extra.split(","):
                    assert x in extras, f"README installs the extra [{x}], which pyproject.toml does not define"
            continue
        if seg.startswith("sudo "):
            seg = seg[len("sudo ") :]
        if re.match(r"^python3? -m pytest\b", seg):
            seg += " --collect-only -p no:cacheprovider"
            cwd = REPO
        kept.append(seg)
    assert kept, f"README line {example.line}: nothing left to run in {example.code!r}"
    p = Plan(kept, cwd)
    if "/sys/kernel/btf" in example.code and not Path("/sys/kernel/btf/vmlinux").exists():
        p.skip_after = "the running kernel has no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF off)"
        p.segments = []
        return p
    for i, seg in enumerate(p.segments):
        if _KERNEL.search(seg):
            reason = probe_skip_reason()
            if reason is not None:
                p.skip_after = reason
                p.segments = p.segments[:i]
            break
    return p


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _bash(cmd: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", cmd], cwd=cwd, env=_env(), capture_output=True, timeout=TIMEOUT
    )


# ------------------------------------------------------------------ running them all, in order
@dataclass
class Outcome:
    status: str  # "ok", "fail", "skip"
    message: str = ""


@dataclass
class Run:
    """Every example's outcome, and the directory they ran in."""

    workdir: Path
    outcomes: dict[str, Outcome] = field(repr=False)


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Run every example in README order in one directory (later ones use earlier outputs)."""
    workdir = tmp_path_factory.mktemp("readme")
    (workdir / "corpora").symlink_to(REPO / "corpora", target_is_directory=True)
    results: dict[str, Outcome] = {}
    for ex in EXAMPLES:
        results[ex.id] = _run_python(ex, workdir) if ex.lang == "python" else _run_shell(ex, workdir)
    return Run(workdir, results)


def _run_shell(ex: Example, workdir: Path) -> Outcome:
    p = plan(ex, workdir)
    if p.segments:
        cmd = " && ".join(p.segments)
        r = _bash(cmd, p.cwd)
        err = r.stderr.decode(errors="replace")
        if r.returncode != 0 or "Traceback" in err:
            out = r.stdout.decode(errors="replace")
            return Outcome("fail", f"README line {ex.line}: `{cmd}` exited {r.returncode}:\n{out[-2000:]}{err[-3000:]}")
        mismatch = _bpftool_mismatch(p.segments, p.cwd, r.stdout)
        if mismatch:
            return Outcome("fail", f"README line {ex.line}: {mismatch}")
    if p.skip_after is not None:
        ran = f" (ran: {' && '.join(p.segments)})" if p.segments else ""
        return Outcome("skip", f"README line {ex.line}: {p.skip_after}{ran}")
    return Outcome("ok")


def _run_python(ex: Example, workdir: Path) -> Outcome:
    old = os.getcwd()
    os.chdir(workdir)
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(ex.code, f"README.md:{ex.line}", "exec"), {"__name__": "__readme__"})
    except Exception:  # noqa: BLE001  (any failure of the README's code is the finding)
        return Outcome("fail", f"README line {ex.line}: the python block raised:\n{traceback.format_exc()[-3000:]}")
    finally:
        os.chdir(old)
    return Outcome("ok")


def _bpftool_mismatch(segments: list[str], cwd: Path, ours: bytes) -> str | None:
    """For a ``btfdedup dump [-B BASE] FILE [| filter]`` example: bpftool's output of the same."""
    bpftool = find_bpftool()
    if bpftool is None or len(segments) != 1:
        return None
    cmd, _, pipe = segments[0].partition("|")
    pipe = pipe.split("#", 1)[0].strip()
    try:
        words = shlex.split(cmd, comments=True)
    except ValueError:
        return None
    if words[:2] != ["btfdedup", "dump"]:
        return None
    args = words[2:]
    base = None
    files = []
    while args:
        a = args.pop(0)
        if a in ("-B", "--base"):
            base = args.pop(0)
        elif a.startswith("-"):
            return None  # options bpftool's raw dump has no counterpart for
        else:
            files.append(a)
    if len(files) != 1:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        tool = [bpftool]
        if base is not None:
            import btfdedup

            # bpftool reads raw or ELF bases only: the base, decompressed, outside the work dir.
            raw = Path(tmp) / "base.btf"
            raw.write_bytes(btfdedup.load(str(cwd / base)).to_bytes())
            tool += ["-B", str(raw)]
        tool += ["btf", "dump", "file", files[0], "format", "raw"]
        line = shlex.join(tool) + (f" | {pipe}" if pipe else "")
        ref = _bash(line, cwd).stdout
    if ref != ours:
        return f"`{segments[0]}` differs from bpftool's `{line}` ({len(ours)} vs {len(ref)} bytes)"
    return None


# ------------------------------------------------------------------ the tests
def test_extraction_finds_every_example() -> None:
    """The extraction sees the README as a reader does (guards the extractor itself)."""
    text = README.read_text()
    shell = [e.code for e in EXAMPLES if e.lang == "shell"]
    python = [e for e in EXAMPLES if e.lang == "python"]
    assert len(python) == len(re.findall(r"^```python\s*$", text, flags=re.M))
    top = text.split("\n---", 1)[0]
    examples = text.split("\n## Examples", 1)[1].split("\n## ", 1)[0]
    for part in (top, examples):
        for ln in part.splitlines():
            if ln.startswith("    ") and ln.strip():
                assert ln.strip() in shell, f"README command {ln.strip()!r} is not extracted"
    assert shell[:2] == [ln.strip() for ln in top.splitlines() if ln.startswith("    ")], "the two commands at the top"
    assert len(shell) >= 8


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_readme_example(example: Example, readme_run: Run) -> None:
    out = readme_run.outcomes[example.id]
    if out.status == "skip":
        pytest.skip(out.message)
    assert out.status == "ok", out.message


def test_readme_outputs_read_back(readme_run: Run) -> None:
    """The BTF files the examples wrote exist and read back: the README's Python block
    wrote split BTF on the 6.1 base, ``split -o shrunk/`` one split file per module."""
    import btfdedup

    base = btfdedup.load(REPO / "corpora/modules/vmlinux-6.1.btf.xz")
    written = sorted(readme_run.workdir.glob("*.btf")) + sorted(readme_run.workdir.glob("shrunk/*.btf"))
    assert written, "the README examples wrote no BTF"
    for p in written:
        split = p.name == "modules.btf" or p.parent.name == "shrunk"
        btf = btfdedup.load(p, base=base if split else None)
        assert len(btf) > 0 or split, p
