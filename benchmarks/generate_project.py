"""Generate an N-node odibi project for the fixed-cost benchmarks.

    python -m benchmarks.generate_project --nodes 1000 --out /tmp/p1000 [--shape fanout|chain]

Node 0 reads a tiny CSV (100 rows: id, grp, v). Every other node is a filter plus a window over its
upstream. Shape ``fanout`` (default): node i depends on i-1, and every 10th node also on i-10 (a LEFT
JOIN), so the DAG is a chain with some fan-out. Shape ``chain``: node i depends on i-1 only (N levels
deep). The last node writes a CSV. The SQL is shared with the peers generator (benchmarks/peers/).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

ROWS = 100


def name(i: int) -> str:
    return f"n{i:05d}"


def deps(i: int, shape: str = "fanout") -> list[int]:
    """Upstream node indexes of node ``i`` (node 0 is the source)."""
    if i == 0:
        return []
    out = [i - 1]
    if shape == "fanout" and i % 10 == 0 and i >= 10:
        out.append(i - 10)
    return out


def node_sql(i: int, shape: str = "fanout", ref: Callable[[str], str] = lambda n: n) -> str:
    """SQL of node ``i`` (> 0): a filter plus a window over its upstream; ``ref`` spells a table name."""
    up = deps(i, shape)
    window = "LAG(a.v) OVER (PARTITION BY a.grp ORDER BY a.id)"
    if len(up) == 1:
        return (
            f"SELECT a.id, a.grp, (a.v + COALESCE({window}, 0)) % 1000 AS v\n"
            f"FROM {ref(name(up[0]))} AS a\n"
            f"WHERE a.v >= 0\n"
        )
    return (
        f"SELECT a.id, a.grp, (a.v + COALESCE(b.v, 0) + COALESCE({window}, 0)) % 1000 AS v\n"
        f"FROM {ref(name(up[0]))} AS a LEFT JOIN {ref(name(up[1]))} AS b ON a.id = b.id\n"
        f"WHERE a.v >= 0\n"
    )


def write_data(folder: Path, rows: int = ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "src.csv"
    lines = ["id,grp,v"] + [f"{i},{i % 7},{(i * 37) % 100}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line + "\n" for line in text.splitlines())


def project_yaml(nodes: int, shape: str = "fanout") -> str:
    parts = [
        f"project: generated {nodes} nodes ({shape})\n",
        "engine: duckdb\n",
        "connections:\n",
        "  data: {type: local, base_path: ./data}\n",
        "  out: {type: local, base_path: ./out}\n",
        "pipelines:\n",
        "  - pipeline: gen\n",
        "    nodes:\n",
        f"      - name: {name(0)}\n",
        "        read: {connection: data, path: src.csv, format: csv, options: {header: true}}\n",
    ]
    for i in range(1, nodes):
        parts.append(f"      - name: {name(i)}\n")
        parts.append(f"        depends_on: [{', '.join(name(d) for d in deps(i, shape))}]\n")
        parts.append("        transform:\n          steps:\n            - |\n")
        parts.append(_indent(node_sql(i, shape), 16))
        if i == nodes - 1:
            parts.append("        write: {connection: out, path: last.csv, format: csv, mode: overwrite}\n")
    return "".join(parts)


def generate(out: Path, nodes: int, shape: str = "fanout") -> Path:
    """Write ``out/odibi.yaml`` and ``out/data/src.csv``; returns the config path."""
    if nodes < 2:
        raise ValueError("a generated project needs at least 2 nodes")
    out.mkdir(parents=True, exist_ok=True)
    write_data(out / "data")
    cfg = out / "odibi.yaml"
    cfg.write_text(project_yaml(nodes, shape))
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--shape", choices=["fanout", "chain"], default="fanout")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(generate(Path(args.out), args.nodes, args.shape))


if __name__ == "__main__":
    main()
