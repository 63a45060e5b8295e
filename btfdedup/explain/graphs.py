"""The two sides of a divergence as networkx graphs, written as GraphML, DOT and PNG.

For a pair of copies (or of matched types) and the divergence the walk found,
each side's neighbourhood of its root is read into a :class:`networkx.DiGraph`
(types as nodes labelled ``[ID] KIND 'name'``, type-ID fields as edges labelled
``.member``, ``return``, ``→``...; at most ``max_nodes`` types, breadth first),
the path from the root to the diverging type is found in it with
``networkx.shortest_path``, and the subgraph kept is that path and the direct
successors of its types.  The two subgraphs are joined (node keys ``A:ID`` and
``B:ID``) with the diverging nodes marked, then written by networkx as GraphML,
as DOT (text made here from the graph, so no pydot/pygraphviz is needed), and as
PNG when Graphviz's ``dot`` is installed.

networkx is imported here only, so only ``dups --graph`` pays for it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections import deque
from typing import TYPE_CHECKING, Any

from btfdedup.explain.naming import with_id
from btfdedup.explain.walk import Divergence, child_pairs

if TYPE_CHECKING:
    import networkx as nx

    from btfdedup.io.writer import OutputSet
    from btfdedup.model.btf import Btf


def neighbourhood(btf: Btf, root: int, side: str, max_nodes: int = 400) -> nx.DiGraph:
    """Types reachable from ``root`` (breadth first, at most ``max_nodes``) as a graph."""
    import networkx as nx

    g = nx.DiGraph()
    key = f"{side}:{root}"
    g.add_node(key, type_id=root, side=side, label=with_id(btf, root))
    todo = deque([root])
    while todo and g.number_of_nodes() < max_nodes:
        t = todo.popleft()
        for step, c, _ in child_pairs(btf, t, btf, t):
            ck = f"{side}:{c}"
            if ck not in g:
                g.add_node(ck, type_id=c, side=side, label=with_id(btf, c))
                todo.append(c)
            if not g.has_edge(f"{side}:{t}", ck):
                g.add_edge(f"{side}:{t}", ck, label=step)
    return g


def divergence_subgraph(
    a: Btf, x: int, b: Btf, y: int, div: Divergence | None, max_nodes: int = 400
) -> nx.DiGraph:
    """Both sides' subgraphs (see the module doc), joined; ``diverges`` marks the last
    pair of the path (both roots when ``div`` is None: the copies are identical)."""
    import networkx as nx

    last = (div.path[-1].a, div.path[-1].b) if div is not None else (x, y)
    parts = []
    for side, btf, root, end in (("A", a, x, last[0]), ("B", b, y, last[1])):
        g = neighbourhood(btf, root, side, max_nodes)
        target = f"{side}:{end}"
        if target not in g:
            g.add_node(target, type_id=end, side=side, label=with_id(btf, end))
        try:
            path = nx.shortest_path(g, f"{side}:{root}", target)
        except nx.NetworkXNoPath:
            path = [f"{side}:{root}", target]
        keep = set(path)
        for n in path:
            keep.update(g.successors(n))
        sub = g.subgraph(keep).copy()
        for n in path:
            sub.nodes[n]["on_path"] = True
        sub.nodes[target]["diverges"] = True
        parts.append(sub)
    joined = nx.union(parts[0], parts[1])
    for _, data in joined.nodes(data=True):
        data.setdefault("on_path", False)
        data.setdefault("diverges", False)
    joined.graph["description"] = div.render(a, b) if div is not None else "identical"
    return joined


def to_dot(g: nx.DiGraph, name: str = "divergence") -> str:
    """Graphviz DOT text of ``g``: one cluster per side, the path bold, the diverging
    types red."""
    def q(s: Any) -> str:
        return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = io.StringIO()
    out.write(f"digraph {q(name)} {{\n  node [shape=box, fontname=monospace];\n")
    out.write(f"  label={q(g.graph.get('description', ''))};\n")
    for side in ("A", "B"):
        out.write(f"  subgraph {q('cluster_' + side)} {{\n    label={q(side)};\n")
        for n, d in g.nodes(data=True):
            if d.get("side") != side:
                continue
            style = []
            if d.get("diverges"):
                style.append("color=red, fontcolor=red")
            if d.get("on_path"):
                style.append("style=bold")
            extra = (", " + ", ".join(style)) if style else ""
            out.write(f"    {q(n)} [label={q(d.get('label', n))}{extra}];\n")
        out.write("  }\n")
    for u, v, d in g.edges(data=True):
        bold = ", style=bold" if g.nodes[u].get("on_path") and g.nodes[v].get("on_path") else ""
        out.write(f"  {q(u)} -> {q(v)} [label={q(d.get('label', ''))}{bold}];\n")
    out.write("}\n")
    return out.getvalue()


def file_stem(kind: str, name: str, a: int, b: int) -> str:
    """A file name for one pair: ``STRUCT-sk_buff-120-4521`` (unsafe characters as ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}-{name or 'anon'}-{a}-{b}")


def write_graph(out: OutputSet, directory: str, stem: str, g: nx.DiGraph) -> list[str]:
    """Stage ``stem.graphml``, ``stem.dot`` and, with Graphviz's ``dot``, ``stem.png``
    in ``directory`` on ``out``; returns the paths."""
    import networkx as nx

    buf = io.BytesIO()
    nx.write_graphml(g, buf)
    dot = to_dot(g, stem)
    paths = [os.path.join(directory, f"{stem}.graphml"), os.path.join(directory, f"{stem}.dot")]
    out.add(paths[0], buf.getvalue())
    out.add(paths[1], dot.encode())
    exe = shutil.which("dot")
    if exe is not None:
        r = subprocess.run([exe, "-Tpng"], input=dot.encode(), capture_output=True, check=False)
        if r.returncode == 0:
            paths.append(os.path.join(directory, f"{stem}.png"))
            out.add(paths[-1], r.stdout)
    return paths
