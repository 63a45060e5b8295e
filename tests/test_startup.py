"""Start-up cost: what a short command imports, in a fresh process each.

``btfdedup --version``, ``--help``, ``kernel list`` and a bare ``import btfdedup``
must not import numpy (nor the modules of the verbs they do not run): numpy and the
compiled core are most of the start-up of a verb that works on BTF, and these
commands work on none.  A verb imports its own module and no other verb's.

Each check runs the command in a fresh interpreter, as the console script does
(``sys.argv[0]`` is ``btfdedup``, so the CLI's interrupt handler is installed as in
a real run) and lists ``sys.modules`` when it exits: every module the process
imported, whatever imported it, by an ``import`` statement or by
:func:`importlib.import_module`.  How long the commands take is measured by
``benchmarks/bench_startup.py``, not here.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from btfdedup.cli.main import VERB_HELP, VERBS, build_parser, chosen_verb
from tests._kernel_helpers import SYSFS_VMLINUX, bpf_ok, cli_env  # noqa: F401
from tests.conftest import FIXTURES

#: What a command that reads no BTF has no use for (the compiled core needs it too).
HEAVY = ("numpy",)
VERB_MODULES = {f"btfdedup.cli.{v}" for v in VERBS}


#: Runs ``python -m btfdedup ARGV`` (``sys.argv[0]`` as the console script has it),
#: then lists ``sys.modules`` on stderr after a marker, whatever the exit status.
_WRAPPER = """
import runpy, sys
sys.argv = ["btfdedup", *sys.argv[1:]]
status = 0
try:
    runpy.run_module("btfdedup", run_name="__main__", alter_sys=True)
except SystemExit as e:
    status = e.code
sys.stdout.flush()
sys.stderr.write("\\n" + MARK + " ".join(sorted(sys.modules)) + "\\n")
sys.exit(status)
"""
MARK = "modules imported: "


def run_listing_modules(code: str, *argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -c CODE ARGV`` from ``/`` with the checkout on the path: the
    finished process (stderr without the listing) and the modules it imported."""
    r = subprocess.run(
        [sys.executable, "-c", f"MARK = {MARK!r}\n" + code, *argv],
        capture_output=True, text=True, env=cli_env(), cwd="/", timeout=300,
    )
    head, sep, listing = r.stderr.rpartition("\n" + MARK)
    assert sep, f"the process ended before listing its modules: {r.stderr}"
    r.stderr = head
    return r, set(listing.split())


def imports_of(*argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``btfdedup ARGV`` in a fresh process: the finished process and its modules."""
    return run_listing_modules(_WRAPPER, *argv)


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_version_imports_neither_numpy_nor_a_verb() -> None:
    r, modules = imports_of("--version")
    assert (r.returncode, r.stdout, r.stderr.splitlines()) == (0, "btfdedup 0.1.0\n", [])
    assert heavy(modules) == []
    assert modules & VERB_MODULES == set()


def test_help_imports_neither_numpy_nor_a_verb() -> None:
    r, modules = imports_of("--help")
    assert r.returncode == 0 and r.stderr.splitlines() == []
    for verb, line in VERB_HELP.items():
        assert verb in r.stdout and line.split()[0] in r.stdout
    assert heavy(modules) == []
    assert modules & VERB_MODULES == set()


def test_unknown_verb_imports_no_verb() -> None:
    r, modules = imports_of("frobnicate")
    assert r.returncode == 2
    assert "invalid choice: 'frobnicate'" in r.stderr.splitlines()[-1]
    assert heavy(modules) == [] and modules & VERB_MODULES == set()


def test_import_btfdedup_alone_imports_no_numpy() -> None:
    r, modules = run_listing_modules(
        "import sys, btfdedup\nassert set(btfdedup.__all__) <= set(dir(btfdedup))\n"
        "sys.stderr.write('\\n' + MARK + ' '.join(sys.modules))"
    )
    assert r.returncode == 0, r.stderr
    assert heavy(modules) == []
    # Nothing of the API is imported until it is used: the package, the CLI's
    # interrupt handler (installed first when the process is the CLI), nothing else.
    assert sorted(m for m in modules if m.startswith("btfdedup")) == ["btfdedup", "btfdedup.cli", "btfdedup.cli.interrupt"]


def test_kind_and_the_errors_import_no_numpy() -> None:
    """The names a caller can use without reading BTF stay as light as the package."""
    r, modules = run_listing_modules(
        "import sys, btfdedup\nbtfdedup.Kind.STRUCT, btfdedup.BtfError, btfdedup.KernelError\n"
        "sys.stderr.write('\\n' + MARK + ' '.join(sys.modules))"
    )
    assert r.returncode == 0, r.stderr
    assert heavy(modules) == []


@pytest.mark.usefixtures("bpf_ok")
@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["plain", "json"])
def test_kernel_list_imports_no_numpy(extra: list[str]) -> None:
    """``kernel list`` is bpf(2) through ctypes, as ``bpftool btf show`` is through
    libbpf: skipped (saying why) only where the kernel refuses bpf(2)."""
    r, modules = imports_of("kernel", "list", *extra)
    assert r.returncode == 0 and r.stderr.splitlines() == [], r.stderr
    if SYSFS_VMLINUX.exists():
        assert "vmlinux" in r.stdout
    assert heavy(modules) == []
    assert modules & VERB_MODULES == {"btfdedup.cli.kernel"}


@pytest.mark.parametrize("extra", [[], ["--json"], ["--pretty"], ["--id", "3", "--id", "1"]],
                         ids=["raw", "json", "pretty", "ids"])
@pytest.mark.parametrize(
    "inputs",
    [["cus/cu1412.btf"], ["modules/veth.btf", "--base", "modules/vmlinux-6.1.btf.xz"]],
    ids=["base", "split"],
)
def test_dump_of_raw_btf_imports_no_numpy(inputs: list[str], extra: list[str]) -> None:
    """``dump`` of a raw BTF (base, or split on a base) reads and prints it through
    the same checked scan as every verb, on buffers, without numpy: numpy's import
    alone would take longer than the whole dump of a kernel's vmlinux."""
    paths = [str(FIXTURES / a) if "/" in a else a for a in inputs]
    if not all((FIXTURES / a).exists() for a in inputs if "/" in a):
        pytest.skip("corpus file missing")
    r, modules = imports_of("dump", *paths, *extra)
    assert r.returncode == 0 and r.stderr.splitlines() == [], r.stderr
    assert r.stdout.startswith(("[", "{"))
    assert heavy(modules) == []


@pytest.mark.parametrize("verb", VERBS)
def test_a_verb_imports_its_own_module_only(verb: str) -> None:
    r, modules = imports_of(verb, "--help")
    assert r.returncode == 0 and r.stdout.startswith(f"usage: btfdedup {verb} "), r.stderr
    assert modules & VERB_MODULES == {f"btfdedup.cli.{verb}"}


@pytest.mark.parametrize("verb", VERBS)
def test_help_lines_are_the_verbs_own(verb: str) -> None:
    """``--help`` lists the verbs from :data:`VERB_HELP` without importing them: each
    line must be the ``help=`` its module's ``register`` gives."""
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(f"btfdedup.cli.{verb}").register(sub)
    assert [(a.dest, a.help) for a in sub._choices_actions] == [(verb, VERB_HELP[verb])]


def test_full_parser_help_equals_the_lazy_one() -> None:
    """The top-level help is the same whichever verb's parser is built in full."""
    texts = {build_parser(v).format_help() for v in (None, *VERBS)}
    assert len(texts) == 1


@pytest.mark.parametrize(
    ("argv", "verb"),
    [
        ([], None),
        (["--version"], None),
        (["-h"], None),
        (["dump", "x.btf"], "dump"),
        (["--help", "kernel", "list"], "kernel"),
        (["--", "split", "a.btf"], "split"),
        (["-", "dump"], None),
        (["frobnicate", "dump"], None),
        (["--bogus", "stats", "x"], "stats"),
    ],
)
def test_chosen_verb_is_the_first_positional(argv: list[str], verb: str | None) -> None:
    assert chosen_verb(argv) == verb
