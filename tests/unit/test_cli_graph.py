"""``odibi graph``: the DAG and the pipeline order as a user sees them, in each format, whole or around a node."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

PROJECT = """\
project: Graph demo
connections:
  data: {type: local, base_path: ./data}
  lake: {type: local, base_path: ./lake}
pipelines:
  - pipeline: bronze
    layer: bronze
    nodes:
      - name: raw_orders
        read: {connection: data, path: orders.csv}
      - name: raw_customers
        read: {connection: data, path: customers.csv}
      - name: orders_clean
        depends_on: [raw_orders, raw_customers]
        transform:
          steps:
            - SELECT o.* FROM raw_orders o JOIN raw_customers c USING (customer_id)
        write: {connection: lake, path: silver/orders.parquet}
      - name: audit
        depends_on: [raw_orders]
        transform: {steps: ["SELECT count(*) AS n FROM raw_orders"]}
  - pipeline: gold
    nodes:
      - name: orders
        read: {connection: lake, path: silver/orders.parquet}
      - name: by_day
        depends_on: [orders]
        transform: {steps: ["SELECT 1 AS d FROM orders"]}
        write: {connection: lake, path: gold/by_day.csv}
"""

ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(PROJECT, encoding="utf-8")
    return cfg


def _graph(*args: str):
    return CliRunner().invoke(app, ["graph", *args])


def _rows(output: str) -> dict[str, str]:
    """Node name → its first row in the ascii listing: the rows whose name starts where the name of the
    pipeline's last ``layer N`` row starts (wrapped details and inputs sit further right)."""
    rows, at = {}, -1
    for line in output.splitlines():
        m = re.match(r"^  layer \d+ +(\* )?([A-Za-z_]\w*)", line)
        if m:
            at = m.start(2)
        else:
            m = re.match(r"^ +(\* )?([A-Za-z_]\w*)", line)
        if m and m.start(2) == at:
            rows[m.group(2)] = line
    return rows


def _bronze_order(out: str) -> list[str]:
    return [n for n in _rows(out) if n in {"raw_orders", "raw_customers", "orders_clean", "audit"}]


def test_ascii_shows_pipeline_order_then_layers_with_kinds_and_inputs(project):
    result = _graph(str(project))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("pipeline order:") < out.index("pipeline 1. bronze")
    assert "  1. bronze  4 nodes in 2 layers" in out
    assert "  2. gold    2 nodes in 2 layers, reads from bronze" in out
    assert out.index("pipeline 1. bronze  [bronze]") < out.index("pipeline 2. gold")
    rows = _rows(out)
    assert set(rows) == {"raw_orders", "raw_customers", "orders_clean", "audit", "orders", "by_day"}
    assert "read csv data:orders.csv" in rows["raw_orders"]
    assert "transform sql · write parquet lake:silver/orders.parquet (overwrite)" in rows["orders_clean"]
    lines = out.splitlines()
    at = lines.index(rows["orders_clean"])
    assert "← raw_orders, raw_customers" in lines[at] + lines[at + 1]  # this row, or wrapped onto the next
    assert "written by bronze.orders_clean" in rows["orders"]
    assert rows["raw_orders"].startswith("  layer 1  raw_orders ") and "layer" not in rows["raw_customers"]
    assert [rows[n][:9] for n in _bronze_order(out)] == ["  layer 1", " " * 9, "  layer 2", " " * 9]
    assert not ANSI.search(out)


def test_mermaid_is_a_flowchart_with_every_edge(project):
    result = _graph(str(project), "--format", "mermaid")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "flowchart LR"
    assert (
        sum(ln.strip().startswith("subgraph ") for ln in lines)
        == sum(ln.strip() == "end" for ln in lines)
        == 2
    )
    declared = {m.group(1) for ln in lines if (m := re.match(r"^\s+(p\d+_\w+)[\[(]", ln))}
    edges = [re.match(r"^\s+(\S+) (-->|-\.->) (\S+)$", ln) for ln in lines if "->" in ln]
    assert all(edges) and {e.group(1) for e in edges} | {e.group(3) for e in edges} <= declared
    pairs = {(e.group(1), e.group(2), e.group(3)) for e in edges}
    assert ("p1_raw_orders", "-->", "p1_orders_clean") in pairs
    assert ("p1_raw_customers", "-->", "p1_orders_clean") in pairs
    assert ("p2_orders", "-->", "p2_by_day") in pairs
    assert ("p1_orders_clean", "-.->", "p2_orders") in pairs  # gold reads what bronze wrote
    assert len(pairs) == 5
    assert all(ln.count('"') % 2 == 0 for ln in lines)


def test_dot_is_a_digraph_with_quoted_ids(project, tmp_path):
    result = _graph(str(project), "--format", "dot")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("digraph odibi {") and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    assert '"bronze.raw_orders" -> "bronze.orders_clean";' in text
    assert '"gold.orders" -> "gold.by_day";' in text
    assert '"bronze.orders_clean" -> "gold.orders" [style=dashed];' in text
    assert 'subgraph "cluster_1" {' in text and 'label="1. bronze";' in text
    if shutil.which("dot"):
        done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_json_has_the_edges_layers_and_io(project):
    result = _graph(str(project), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["project"] == "Graph demo" and doc["selected"] is None
    assert [p["name"] for p in doc["pipelines"]] == ["bronze", "gold"]
    bronze, gold = doc["pipelines"]
    order = bronze["order"]
    assert order[:2] == ["raw_orders", "raw_customers"] and set(order[2:]) == {"orders_clean", "audit"}
    nodes = {n["name"]: n for n in bronze["nodes"]}
    assert nodes["orders_clean"]["depends_on"] == ["raw_orders", "raw_customers"]
    assert nodes["orders_clean"]["layer"] == 2 and nodes["raw_orders"]["layer"] == 1
    assert nodes["orders_clean"]["kind"] == ["transform", "write"]
    assert nodes["orders_clean"]["writes"] == [
        {"connection": "lake", "format": "parquet", "path": "silver/orders.parquet", "mode": "overwrite"}
    ]
    assert nodes["raw_orders"]["reads"] == [{"connection": "data", "format": "csv", "path": "orders.csv"}]
    assert gold["reads_from"] == ["bronze"]
    assert gold["nodes"][0]["written_by"] == ["bronze.orders_clean"]


def test_node_alone_shows_its_direct_neighbours_and_marks_it(project):
    result = _graph(str(project), "--node", "raw_orders")
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert set(rows) == {"raw_orders", "orders_clean", "audit"}
    assert rows["raw_orders"].startswith("  layer 1  * raw_orders")
    assert re.match(r"^  (layer 2|       )    audit ", rows["audit"])  # two spaces: the mark's column
    assert "showing node raw_orders with its direct neighbours (3 of 6 nodes" in result.output
    assert "  2. gold    2 nodes in 2 layers, reads from bronze (not shown)" in result.output


def test_node_upstream_downstream_and_both(project):
    up = _rows(_graph(str(project), "-n", "orders_clean", "--upstream").output)
    assert set(up) == {"raw_orders", "raw_customers", "orders_clean"}
    down = _rows(_graph(str(project), "-n", "raw_orders", "--downstream").output)
    assert set(down) == {"raw_orders", "orders_clean", "audit"}
    both = _graph(str(project), "-n", "orders_clean", "--upstream", "--downstream", "--format", "json")
    doc = json.loads(both.output)
    assert doc["selected"] == "orders_clean"
    assert [p["name"] for p in doc["pipelines"]] == ["bronze"]
    assert doc["pipelines"][0]["order"] == ["raw_orders", "raw_customers", "orders_clean"]
    dot = _graph(str(project), "-n", "by_day", "--upstream", "--format", "dot").output
    assert '"gold.orders" -> "gold.by_day";' in dot and "bronze" not in dot
    assert re.search(r'"gold\.by_day" \[[^]]*penwidth=3', dot)


def test_unknown_node_and_pipeline_are_usage_errors_with_a_suggestion(project):
    result = _graph(str(project), "--node", "raw_ordrs")
    assert result.exit_code == 2
    assert "unknown node 'raw_ordrs' (did you mean 'raw_orders'?)" in result.output
    assert "Traceback" not in result.output
    result = _graph(str(project), "--pipeline", "glod")
    assert result.exit_code == 2
    assert "unknown pipeline 'glod' (did you mean 'gold'?)" in result.output
    result = _graph(str(project), "--upstream")
    assert result.exit_code == 2 and "--upstream and --downstream need --node" in result.output
    result = _graph(str(project), "--format", "mermiad")
    assert result.exit_code == 2 and "did you mean 'mermaid'?" in result.output


def test_a_broken_dag_is_reported_located(project):
    project.write_text(
        PROJECT.replace("depends_on: [raw_orders]", "depends_on: [raw_ordes]"), encoding="utf-8"
    )
    result = _graph(str(project))
    assert result.exit_code == 2
    assert f"{project}:" in result.output
    assert "unknown dependency 'raw_ordes' (did you mean 'raw_orders'?)" in result.output


def _big_project(tmp_path: Path) -> Path:
    """50 nodes: 24 sources, one node joining all of them (wide fan-in), a chain and a gold pipeline."""
    sources = [f"source_table_number_{i:02d}" for i in range(24)]
    lines = [
        "project: Big",
        "connections:",
        "  data: {type: local, base_path: ./a_fairly_long_folder_name/for_the_inputs}",
        "pipelines:",
        "  - pipeline: wide_ingest",
        "    nodes:",
    ]
    for s in sources:
        lines += [f"      - name: {s}", f"        read: {{connection: data, path: landing/{s}/part.parquet}}"]
    lines += [
        "      - name: everything_joined",
        f"        depends_on: [{', '.join(sources)}]",
        "        transform: {steps: [SELECT 1 AS x, {operation: deduplicate, params: {keys: [x], order_by: [x]}}]}",
    ]
    previous = "everything_joined"
    for i in range(15):
        name = f"refine_step_{i:02d}"
        lines += [f"      - name: {name}", f"        depends_on: [{previous}, source_table_number_{i:02d}]"]
        previous = name
    lines += [
        "      - name: publish",
        f"        depends_on: [{previous}]",
        "        write: {connection: data, path: published/refined_output_of_the_whole_chain.parquet}",
        "  - pipeline: gold",
        "    nodes:",
        "      - name: published",
        "        read: {connection: data, path: published/refined_output_of_the_whole_chain.parquet}",
    ]
    for i in range(8):
        lines += [f"      - name: mart_{i}", "        depends_on: [published]"]
    cfg = tmp_path / "big.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def test_fifty_nodes_stay_readable(tmp_path):
    cfg = _big_project(tmp_path)
    result = _graph(str(cfg))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "project Big: 2 pipelines, 50 nodes" in out
    names = list(_rows(out))
    assert len(names) == 50  # every node listed once...
    assert all(len(re.findall(rf"^ .*  {n}  ", out, flags=re.M)) == 1 for n in names)  # ...and only once
    assert max(len(line) for line in out.splitlines()) <= 120
    # the 24 inputs of the wide node wrap under its details column instead of one giant line
    joined = out[out.index("everything_joined") :].split("\n  layer")[0]
    assert all(s in joined for s in (f"source_table_number_{i:02d}" for i in range(24)))
    assert joined.count("\n") >= 2


def _odibi(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "odibi", *args], capture_output=True, text=True, **kw)


def test_piped_output_is_plain_and_a_terminal_gets_colour(project):
    piped = _odibi("graph", str(project), "--node", "raw_orders")
    assert piped.returncode == 0, piped.stderr
    assert "  layer 1  * raw_orders" in piped.stdout and not ANSI.search(piped.stdout)
    if os.name != "posix":
        return
    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "odibi", "graph", str(project), "--node", "raw_orders"],
            stdout=follower,
            stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
            timeout=60,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0, done.stderr
    assert ANSI.search(b"".join(chunks).decode())
