"""``odibi doctor``: versions, pins and engines of this machine; a project's config and connections, each
problem with a fix; secrets never shown; exit 0 all well, 1 a problem, 2 a config that cannot be used."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

CANARY = "Canary-doctor-5ecret-71x"


def invoke(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _line(output: str, section_item: str) -> str:
    return next(line for line in output.splitlines() if line.split()[1:2] == [section_item])


LOCAL_PROJECT = """
    project: t
    connections:
      data: {type: local, base_path: ./data}
    pipelines:
      - pipeline: p
        nodes:
          - {name: a, read: {connection: data, path: in.csv}}
"""


def test_plain_run_lists_versions_pins_and_engines():
    result = invoke("doctor")
    out = result.output
    assert result.exit_code == 0, out
    assert f"{sys.version_info.major}.{sys.version_info.minor}." in _line(out, "python")
    from odibi import __version__

    assert __version__ in _line(out, "odibi")
    duckdb_pin = _line(out, "duckdb")
    assert duckdb_pin.split()[0] == "ok" and ">=1.5.5,<2" in duckdb_pin  # the installed dist's pins
    for lib in ("sqlglot", "pydantic", "pandas", "pyarrow", "ibis-framework"):
        assert _line(out, lib).split()[0] == "ok", out
    assert "Engines" in out
    engines = out.split("Engines", 1)[1]
    assert _line(engines, "duckdb").split()[0] == "ok"
    assert _line(engines, "pandas").split()[0] == "ok"
    assert "spark" in engines
    assert "JSON Schema draft 2020-12" in out


def test_json_report_parses(make_project, tmp_path):
    (tmp_path / "data").mkdir()
    cfg = make_project(LOCAL_PROJECT, {"data/in.csv": "x\n1\n"})
    result = invoke("doctor", str(cfg), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["exit_code"] == 0 and report["errors"] == 0
    assert report["config"] == {"path": str(cfg), "valid": True, "errors": []}
    by_name = {(c["section"], c["name"]): c for c in report["checks"]}
    assert by_name[("package", "duckdb")]["data"]["installed"]
    assert by_name[("engine", "duckdb")]["status"] == "ok"
    assert by_name[("connection", "data")]["status"] == "ok"
    assert by_name[("connection", "data")]["data"]["describe"]["type"] == "local"


def test_project_with_an_existing_local_folder_is_all_well(make_project, tmp_path):
    cfg = make_project(LOCAL_PROJECT, {"data/in.csv": "x\n1\n"})
    result = invoke("doctor", str(cfg))
    assert result.exit_code == 0, result.output
    assert "valid: 1 pipeline(s), 1 node(s), engine duckdb" in result.output
    conn = _line(result.output.split("Connections", 1)[1], "data")
    assert conn.split()[0] == "ok" and f"folder {tmp_path / 'data'} exists" in conn


def _pg_project(make_project, port: int) -> Path:
    return make_project(
        f"""
        project: t
        connections:
          data: {{type: local, base_path: ./data}}
          warehouse: {{type: sql, url: "postgresql://odibi:${{PG_PASSWORD}}@127.0.0.1:{port}/sales"}}
        pipelines:
          - pipeline: p
            nodes:
              - {{name: a, read: {{connection: data, path: in.csv}}}}
        """,
        {"data/in.csv": "x\n1\n"},
    )


def test_unreachable_database_fails_with_reason_and_fix_and_never_shows_the_password(make_project):
    pytest.importorskip("psycopg")
    port = _closed_port()
    cfg = _pg_project(make_project, port)
    env = {"PG_PASSWORD": CANARY}

    text = invoke("doctor", str(cfg), env=env)
    assert text.exit_code == 1, text.output
    line = _line(text.output.split("Connections", 1)[1], "warehouse")
    assert line.split()[0] == "error"
    assert f"port {port} failed" in line and "refused" in line.lower()
    assert "fix: start the database or correct the URL's host, port" in text.output
    assert "1 error(s)" in text.output
    assert CANARY not in text.output and CANARY not in text.stderr

    js = invoke("doctor", str(cfg), "--format", "json", env=env)
    assert js.exit_code == 1
    assert CANARY not in js.output and CANARY not in js.stderr
    report = json.loads(js.stdout)
    check = next(c for c in report["checks"] if c["name"] == "warehouse")
    assert check["status"] == "error" and check["fix"] and "refused" in check["detail"].lower()


def test_a_database_that_never_answers_is_reported_within_the_timeout(make_project):
    pytest.importorskip("psycopg")
    with socket.socket() as server:  # accepts connections (the kernel does), never says a word
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        cfg = _pg_project(make_project, server.getsockname()[1])
        started = time.monotonic()
        result = invoke("doctor", str(cfg), "--timeout", "1", env={"PG_PASSWORD": CANARY})
        took = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "no answer within 1 s" in result.output and "--timeout 3" in result.output
    assert took < 4.5, took  # psycopg's own connect_timeout is 5 s
    assert CANARY not in result.output


def _doctor_process(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "odibi", "doctor", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_without_java_spark_is_not_startable_and_says_how_to_fix(make_project, tmp_path):
    pytest.importorskip("pyspark")
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(empty)

    plain = _doctor_process(env=env)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # Spark is optional: a warning
    spark = _line(plain.stdout.split("Engines", 1)[1], "spark")
    assert spark.split()[0] == "warning" and "Java not found" in spark
    assert "fix: install OpenJDK 17 (apt install openjdk-17-jre-headless" in plain.stdout
    assert "set JAVA_HOME" in plain.stdout

    env["JAVA_HOME"] = str(empty)  # Spark's launcher uses JAVA_HOME when set, even with java on PATH
    cfg = make_project(
        LOCAL_PROJECT.replace("project: t", "project: t\n    engine: spark"), {"data/in.csv": "x\n"}
    )
    used = _doctor_process(str(cfg), env=env)
    assert used.returncode == 1, used.stdout + used.stderr  # the project's engine: an error
    spark = _line(used.stdout.split("Engines", 1)[1], "spark")
    assert spark.split()[0] == "error" and f"JAVA_HOME={empty} has no bin/java" in spark


def test_invalid_config_exits_2_with_the_located_error(make_project):
    cfg = make_project(
        """
        project: t
        connections:
          data: {type: local, base_path: ./data}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                read: {connection: data, path: x.csv, format: csvv}
        """
    )
    result = invoke("doctor", str(cfg))
    assert result.exit_code == 2, result.output
    assert f"{cfg}:8:" in result.output and "invalid value 'csvv'" in result.output
    assert "did you mean 'csv'" in result.output
    assert "Engines" in result.output  # the environment is still reported

    js = invoke("doctor", str(cfg), "--format", "json")
    assert js.exit_code == 2
    report = json.loads(js.stdout)
    assert report["config"]["valid"] is False
    assert report["config"]["errors"][0]["line"] == 8


def test_unreadable_config_and_bad_format_exit_2(tmp_path):
    missing = invoke("doctor", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "config file not found" in missing.output
    assert invoke("doctor", "--format", "xml").exit_code == 2


def test_stale_editor_schema_is_a_warning_with_the_command_that_refreshes_it(make_project, tmp_path):
    cfg = make_project(
        "# yaml-language-server: $schema=./odibi.schema.json\n" + textwrap.dedent(LOCAL_PROJECT).lstrip("\n"),
        {"data/in.csv": "x\n1\n", "odibi.schema.json": "{}"},
    )
    result = invoke("doctor", str(cfg))
    assert result.exit_code == 0, result.output
    assert _line(result.output, "editor").split()[0] == "warning"
    assert f"fix: odibi schema -o {tmp_path / 'odibi.schema.json'}" in result.output
