"""The modules of btfdedup import each other without a cycle.

The graph is built from the source, not by importing: every ``btfdedup/**/*.py``
is parsed with :mod:`ast`, and so is the Python part of every ``.pyx`` (its
``import``/``from ... import`` lines; ``cimport`` is compile time and does not
count).  An edge is a module-level import: statements of the module body and of
the ``if``/``try``/``with`` blocks and class bodies in it, which run when the
module is imported.  Imports inside functions run later and do not count, nor do
those under ``if TYPE_CHECKING:`` (annotations only).  ``from pkg import name`` is
an edge to ``pkg.name`` when that is a module, else to ``pkg``; ``import a.b`` an
edge to ``a.b``.

Layering depends on it (``model`` never needs ``io`` to build a ``Btf``, the
compiled core never needs the Python above it), and a cycle is what makes an
import order matter.

Imports deferred into functions are checked too, separately: a cycle through them
does not break an import, but it still ties two layers together.  The ones that
remain are named in :data:`KNOWN_DEFERRED_CYCLES`; any other fails.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "btfdedup"
PKG = PACKAGE.name


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.pyx")):
        out[_module_name(path)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _all_imports(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every import statement, function bodies included, except under ``if TYPE_CHECKING:``."""
    hidden = {
        id(n)
        for top in body
        for block in ast.walk(top)
        if isinstance(block, ast.If) and _is_type_checking(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    for top in body:
        for n in ast.walk(top):
            if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in hidden:
                yield n


def _import_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run when the module is imported (not function bodies, not
    ``if TYPE_CHECKING:`` blocks)."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_statements(node.body)
            yield from _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_statements(block)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from _import_time_statements(node.body)
        else:
            yield node


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a (possibly relative) import in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


_PYX_IMPORT = re.compile(r"^(?:import\s+([\w.]+)|from\s+([\w.]+)\s+import\s+(?!\*)(.+))$")


def _pyx_python_imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(module, names)`` of the top-level Python imports of a .pyx file."""
    for line in path.read_text().splitlines():
        m = _PYX_IMPORT.match(line.strip()) if not line[:1].isspace() else None
        if m is None or " cimport " in f" {line} ":
            continue
        if m.group(1):
            yield m.group(1), []
        else:
            names = [n.strip().split(" as ")[0] for n in m.group(3).strip("()").split(",")]
            yield m.group(2), [n for n in names if n]


def import_graph(deferred: bool = False) -> dict[str, set[str]]:
    """Module -> the btfdedup modules it imports when it is imported (``deferred``:
    or later, from inside its functions)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}

    def add(src: str, target: str, names: list[str]) -> None:
        hits = [f"{target}.{n}" for n in names if f"{target}.{n}" in mods]
        if len(hits) < len(names) or not names:
            hits.append(target)
        for t in hits:
            if t in mods and t != src:
                graph[src].add(t)

    for mod, path in mods.items():
        if path.suffix == ".pyx":
            for target, names in _pyx_python_imports(path):
                add(mod, target, names)
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        statements = _all_imports(tree.body) if deferred else _import_time_statements(tree.body)
        for node in statements:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(mod, alias.name, [])
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(mod, is_package, node.level, node.module)
                add(mod, target, [a.name for a in node.names if a.name != "*"])
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module
    (Tarjan), each as a closed path ``a -> b -> ... -> a``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[list[str]] = []
    counter = 0

    def strong(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return [_cycle_in(graph, set(comp)) for comp in comps]


def _cycle_in(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A closed path through the first module (by name) of a strongly connected component."""
    start = min(comp)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(comp)


def test_graph_sees_the_package() -> None:
    """The graph covers the package and finds known edges (else an empty graph would pass)."""
    graph = import_graph()
    assert "btfdedup.model.btf" in graph and "btfdedup.io.raw" in graph
    assert "btfdedup.model.btf" in graph["btfdedup.io.raw"]
    assert "btfdedup.model.scan" in graph["btfdedup.model.records"]


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_type_checking_and_function_imports_are_not_edges(tmp_path: Path) -> None:
    src = (
        "from typing import TYPE_CHECKING\n"
        "import btfdedup.errors\n"
        "if TYPE_CHECKING:\n    import btfdedup.io.raw\n"
        "def f():\n    import btfdedup.io.load\n"
    )
    tree = ast.parse(src)
    found = [
        a.name for n in _import_time_statements(tree.body) if isinstance(n, ast.Import) for a in n.names
    ]
    assert found == ["btfdedup.errors"]


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among btfdedup modules:\n" + "\n".join(" -> ".join(c) for c in cycles)


#: Cycles that exist only through imports deferred into functions, each with the
#: function that defers it.  Fix one, then remove it here.
KNOWN_DEFERRED_CYCLES = {
    ("btfdedup.io.elf", "btfdedup.io.load", "btfdedup.io.elf"): "io.elf's ELF reader calls io.load.parse_blob",
    ("btfdedup.kernel.btf", "btfdedup.kernel.fd", "btfdedup.kernel.btf"): "kernel.fd's BtfFd.info calls kernel.btf.btf_info",
}


def test_deferred_imports_add_no_other_cycle() -> None:
    """With imports inside functions counted too, the only cycles are the named ones:
    in particular ``model`` reaches ``io`` only to write (``Btf.to_bytes``/``save``),
    and nothing in ``io`` is needed to build a ``Btf``."""
    graph = import_graph(deferred=True)
    cycles = {tuple(c) for c in find_cycles(graph)}
    unknown = cycles - KNOWN_DEFERRED_CYCLES.keys()
    assert not unknown, "import cycles through deferred imports:\n" + "\n".join(" -> ".join(c) for c in sorted(unknown))
    fixed = KNOWN_DEFERRED_CYCLES.keys() - cycles
    assert not fixed, f"no longer a cycle, remove from KNOWN_DEFERRED_CYCLES: {sorted(fixed)}"
    assert not any(t.startswith("btfdedup.io.") and t != "btfdedup.io.writer" for t in graph["btfdedup.model.btf"])
