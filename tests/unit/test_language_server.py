"""Editors: the real ``yaml-language-server`` (npm, pinned in tests/lsp/package.json) completes odibi
configs from the checked-in JSON Schema and flags mistakes at the right line.

Install the server with ``npm ci --prefix tests/lsp``. Without node or the server the tests are skipped,
except when the ``CI`` environment variable is set: then they fail.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from odibi.cli.init_project import init_project
from tests.lsp.client import LspClient, server_command

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_URI = (ROOT / "schemas" / "odibi.schema.json").as_uri()
MODELINE = f"# yaml-language-server: $schema={SCHEMA_URI}"
CURSOR = "<@>"
SETTINGS = {
    "yaml": {
        "validate": True,
        "completion": True,
        "hover": True,
        "schemas": {},
        "schemaStore": {"enable": False},  # no network: only the modeline's schema
    }
}


@pytest.fixture(scope="module")
def lsp(tmp_path_factory):
    command = server_command()
    if command is None:
        reason = "yaml-language-server is not installed (needs node; run: npm ci --prefix tests/lsp)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the editor tests")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("lsp")
    client = LspClient(command, SETTINGS)
    try:
        client.start(root)
        client.root = root  # type: ignore[attr-defined]
        yield client
    finally:
        client.close()


_counter = iter(range(1_000_000))


def open_doc(lsp: LspClient, text: str, modeline: str = MODELINE) -> tuple[str, list[tuple[int, int]]]:
    """Open a document (dedented, modeline first); return its URI and the (line, col) of each cursor."""
    body = modeline + "\n" + textwrap.dedent(text).lstrip("\n")
    cursors = []
    lines = body.split("\n")
    for no, line in enumerate(lines):
        while CURSOR in line:
            cursors.append((no, line.index(CURSOR)))
            line = line.replace(CURSOR, "", 1)
        lines[no] = line
    path = lsp.root / f"doc{next(_counter)}.yaml"  # type: ignore[attr-defined]
    uri = path.as_uri()
    lsp.open(uri, "\n".join(lines))
    return uri, cursors


def labels(lsp: LspClient, uri: str, position: tuple[int, int]) -> set[str]:
    return {item["label"] for item in lsp.completion(uri, *position)}


def test_top_level_keys(lsp):
    uri, (cur,) = open_doc(lsp, "project: demo\n<@>\n")
    offered = labels(lsp, uri, cur)
    assert {"pipelines", "connections", "engine", "engine_options", "sql_dialect"} <= offered
    assert "project" not in offered  # already there


def test_engine_values(lsp):
    uri, (cur,) = open_doc(lsp, "project: demo\nengine: <@>\n")
    offered = labels(lsp, uri, cur)
    assert {"duckdb", "pandas", "spark"} <= offered
    assert offered <= {"duckdb", "pandas", "spark"}


def test_node_keys_and_write_mode_values(lsp):
    uri, (node, mode, fmt) = open_doc(
        lsp,
        """
        project: demo
        connections:
          out: {type: local}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                <@>
              - name: b
                write:
                  connection: out
                  path: b.csv
                  mode: <@>
                  format: <@>
        """,
    )
    assert {"depends_on", "transform", "write", "read", "validation"} <= labels(lsp, uri, node)
    assert {"overwrite", "append", "error", "ignore"} <= labels(lsp, uri, mode)
    assert {"csv", "parquet", "json"} <= labels(lsp, uri, fmt)


def test_connection_keys_follow_the_type(lsp):
    uri, (local, s3, untyped, kind) = open_doc(
        lsp,
        """
        project: demo
        connections:
          data:
            type: local
            <@>
          lake:
            type: s3
            <@>
          other:
            <@>
          more:
            type: <@>
        pipelines: []
        """,
    )
    offered = labels(lsp, uri, local)
    assert "base_path" in offered
    assert "root" not in offered  # local_dbfs's key: the union is discriminated on `type`
    offered = labels(lsp, uri, s3)
    assert {"bucket", "region", "endpoint_url"} <= offered and "base_path" not in offered
    assert "type" in labels(lsp, uri, untyped)
    assert {"local", "local_dbfs", "azure_adls", "azure_sql", "sql", "s3", "gcs"} <= labels(lsp, uri, kind)


def test_step_keys_follow_the_step_kind(lsp):
    uri, (empty, function, params) = open_doc(
        lsp,
        """
        project: demo
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                transform:
                  steps:
                    - <@>
                    - function: my_fn
                      <@>
                    - operation: filter
                      params:
                        <@>
        """,
    )
    assert {"sql", "function", "operation"} <= labels(lsp, uri, empty)
    assert "params" in labels(lsp, uri, function)
    assert "condition" in labels(lsp, uri, params)  # the filter operation's own parameter


def test_bad_values_and_unknown_keys_are_flagged_at_their_line(lsp):
    uri, _ = open_doc(
        lsp,
        """
        project: demo
        engine: duckdbb
        bogus_key: 1
        connections:
          data: {type: locall}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                write: {connection: data, path: a.csv, mode: overwrit}
        """,
    )
    # 0-based lines: 0 modeline, 1 project, 2 engine, 3 bogus_key, 4 connections, 5 data, ..., 10 write
    wanted = {2, 3, 5, 10}
    diags = lsp.diagnostics(uri, min_count=len(wanted))
    by_line: dict[int, list[str]] = {}
    for d in diags:
        by_line.setdefault(d["range"]["start"]["line"], []).append(d["message"])
    assert set(by_line) == wanted, by_line
    assert any("duckdb" in m and "pandas" in m for m in by_line[2]), by_line[2]
    engine = next(d for d in diags if d["range"]["start"]["line"] == 2)
    assert engine["range"]["start"]["character"] == len("engine: ")
    assert any("bogus_key" in m for m in by_line[3]), by_line[3]
    assert any("local_dbfs" in m for m in by_line[5]), by_line[5]
    assert any("overwrite" in m for m in by_line[10]), by_line[10]


def test_quickstart_and_init_projects_are_clean(lsp, tmp_path):
    quickstart = (ROOT / "examples" / "quickstart" / "odibi.yaml").read_text(encoding="utf-8")
    uri, _ = open_doc(lsp, quickstart)
    assert lsp.diagnostics(uri, min_count=0) == []

    # `odibi init` writes a relative modeline to its own copy of the schema
    init_project(tmp_path, "demo", False)
    config = tmp_path / "odibi.yaml"
    text = config.read_text(encoding="utf-8")
    uri = config.as_uri()
    lsp.open(uri, text)
    assert lsp.diagnostics(uri, min_count=0) == []
    lines = text.split("\n")
    line = next(i for i, s in enumerate(lines) if s.strip().startswith("engine:"))
    assert {"duckdb", "pandas", "spark"} <= {
        item["label"] for item in lsp.completion(uri, line, len("engine: "))
    }
