"""`odibi compile` renders every node of a SQL-heavy project in other dialects, and the SQL parses back.

The project (``tests/fixtures/valid/sql_features.yaml``) is written in DuckDB SQL and uses joins,
GROUP BY + HAVING, window functions, CASE, COALESCE, date functions, CTEs and UNION ALL. For each
target dialect we split the output into one block per node (a ``-- `` header naming pipeline and
node, then the node's statement ending in ``;``) and parse every statement back with sqlglot in
that dialect. No data is needed: compile works from the config alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlglot
import yaml
from typer.testing import CliRunner

from odibi.cli.app import app

PROJECT = Path(__file__).resolve().parent.parent / "fixtures" / "valid" / "sql_features.yaml"
DIALECTS = ["duckdb", "spark", "snowflake", "bigquery", "tsql", "postgres"]


def _config() -> dict:
    return yaml.safe_load(PROJECT.read_text(encoding="utf-8"))


def _nodes() -> list[tuple[str, str, dict]]:
    """(pipeline, node, node config) in file order."""
    return [(p["pipeline"], n["name"], n) for p in _config()["pipelines"] for n in p["nodes"]]


NODES = _nodes()
SQL_NODES = {(p, n) for p, n, cfg in NODES if (cfg.get("transform") or {}).get("steps")}


@dataclass
class Block:
    pipeline: str
    node: str
    header: str
    lines: list[str] = field(default_factory=list)

    def statements(self) -> list[str]:
        """The block's SQL statements (comment lines dropped, split on a ';' ending a line)."""
        body = "\n".join(ln for ln in self.lines if not ln.lstrip().startswith("--"))
        parts = re.split(r";[ \t]*(?:\n|$)", body)
        return [p.strip() for p in parts if p.strip()]

    def raw(self) -> str:
        return "\n".join(self.lines)


def _header(line: str) -> tuple[str, str] | None:
    """(pipeline, node) if this `-- ` line names a pipeline and one of its nodes (the first named)."""
    if not line.startswith("-- "):
        return None
    best: tuple[int, str, str] | None = None
    for pipeline, node, _ in NODES:
        if not re.search(rf"\b{re.escape(pipeline)}\b", line):
            continue
        m = re.search(rf"\b{re.escape(node)}\b", line)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), pipeline, node)
    return None if best is None else (best[1], best[2])


def split_blocks(output: str) -> list[Block]:
    blocks: list[Block] = []
    for line in output.splitlines():
        head = _header(line)
        if head is not None and not any((b.pipeline, b.node) == head for b in blocks):
            blocks.append(Block(head[0], head[1], line))
        elif blocks:
            blocks[-1].lines.append(line)
        else:
            assert not line.strip() or line.startswith("--"), f"text before the first node header: {line!r}"
    return blocks


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


_CACHE: dict[tuple[str, ...], str] = {}


def compile_cli(runner: CliRunner, *args: str) -> str:
    """stdout of `odibi compile PROJECT *args` (cached: each command line runs once per session)."""
    if args in _CACHE:
        return _CACHE[args]
    result = runner.invoke(app, ["compile", str(PROJECT), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"odibi compile {' '.join(args)} crashed:\n{tb}")
    assert result.exit_code == 0, (
        f"odibi compile {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    )
    _CACHE[args] = result.stdout
    return result.stdout


class _Outputs:
    """outputs[dialect]: the project compiled with --dialect, compiled on first use."""

    def __init__(self, runner: CliRunner) -> None:
        self.runner = runner

    def __getitem__(self, dialect: str) -> str:
        return compile_cli(self.runner, "--dialect", dialect)


@pytest.fixture(scope="module")
def outputs(runner) -> _Outputs:
    return _Outputs(runner)


def test_project_is_valid(runner):
    result = runner.invoke(app, ["validate", str(PROJECT)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_statement_parses_back(outputs, dialect):
    out = outputs[dialect]
    blocks = split_blocks(out)
    seen = {(b.pipeline, b.node) for b in blocks}
    missing = [(p, n) for p, n, _ in NODES if (p, n) not in seen]
    assert not missing, f"nodes without a header in --dialect {dialect}: {missing}\n{out}"
    assert len(blocks) == len(NODES), [b.header for b in blocks]
    for block in blocks:
        stmts = block.statements()
        if (block.pipeline, block.node) in SQL_NODES:
            assert len(stmts) == 1, (
                f"{block.node}: expected one statement ending in ';' in {dialect}, got {len(stmts)}:\n"
                f"{block.raw()}"
            )
            assert block.raw().rstrip().endswith(";"), block.raw()
        else:
            assert len(stmts) <= 1, block.raw()
        for stmt in stmts:
            try:
                sqlglot.parse_one(stmt, read=dialect)
            except sqlglot.errors.ParseError as exc:
                pytest.fail(f"{block.node} ({dialect}) does not parse back: {exc}\n{stmt}")


def test_read_only_nodes_print_a_comment(outputs):
    blocks = {b.node: b for b in split_blocks(outputs["duckdb"])}
    for _pipeline, node, cfg in NODES:
        if cfg.get("read") and not cfg.get("transform"):
            block = blocks[node]
            assert not block.statements(), f"{node} only reads, so it should print no SQL:\n{block.raw()}"


def _node_stmt(output: str, node: str) -> str:
    (block,) = [b for b in split_blocks(output) if b.node == node]
    (stmt,) = block.statements()
    return stmt


def test_sql_is_really_transpiled(outputs):
    """A compile that ignored --dialect would still parse in most dialects: look for each one's idiom."""
    top = {d: _node_stmt(outputs[d], "top_customers") for d in DIALECTS}
    assert re.search(r"\bTOP\s*\(?\s*10\b", top["tsql"], re.I), top["tsql"]
    assert not re.search(r"\bLIMIT\b", top["tsql"], re.I), top["tsql"]
    for d in ("duckdb", "spark", "snowflake", "bigquery", "postgres"):
        assert re.search(r"\bLIMIT\s+10\b", top[d], re.I), (d, top[d])
    monthly_bq = _node_stmt(outputs["bigquery"], "monthly_region_sales")
    # BigQuery puts the date part last: DATE_TRUNC(order_date, MONTH), or TIMESTAMP_TRUNC when sqlglot
    # cannot know the column is a DATE (DuckDB's date_trunc is typed by its argument; no schema here).
    assert re.search(r"(DATE|TIMESTAMP)_TRUNC\([^()]*,\s*MONTH\s*\)", monthly_bq, re.I), monthly_bq
    assert outputs["tsql"] != outputs["duckdb"]
    assert outputs["bigquery"] != outputs["duckdb"]


def test_engine_spark_equals_dialect_spark(runner, outputs):
    assert compile_cli(runner, "--engine", "spark") == outputs["spark"]


def test_default_dialect_is_the_engines(runner, outputs):
    assert compile_cli(runner) == outputs["duckdb"]


def _upstream(node: str) -> set[str]:
    deps = {n: cfg.get("depends_on") or [] for _, n, cfg in NODES}
    seen: set[str] = set()
    todo = list(deps[node])
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(deps[n])
    return seen


def test_select_one_node(runner):
    """--node prints the node (last) and its upstream, nothing else."""
    out = compile_cli(
        runner, "--dialect", "postgres", "--pipeline", "bronze_to_silver", "--node", "customer_history"
    )
    blocks = split_blocks(out)
    assert blocks and blocks[-1].node == "customer_history", out
    assert {b.node for b in blocks} == _upstream("customer_history") | {"customer_history"}, out
    (stmt,) = blocks[-1].statements()
    sqlglot.parse_one(stmt, read="postgres")
    assert re.search(r"ROW_NUMBER\s*\(\s*\)\s+OVER", stmt, re.I), stmt
