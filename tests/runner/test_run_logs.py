"""Run logs: quiet by default, a line per node at INFO, everything at DEBUG, JSON lines with
logging.structured; and a secret never appears in any of them, in the state store, or in retry messages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.runner.conftest import odibi

CANARY = "odibi-canary-3c9d71e0"

PROJECT = """
project: logged
transform_modules: [steps.py]
{logging}
retry: {{max_attempts: 3, delay: 0, jitter: 0}}
connections:
  local: {{type: local, base_path: .}}
  db: {{type: sql, url: "postgresql://etl:${{DB_PASSWORD}}@db.example.com/sales"}}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {{connection: local, path: in.csv}}
      - name: shaky
        depends_on: [src]
        transform:
          steps:
            - function: {function}
        write: {{connection: local, path: out/shaky.csv}}
      - name: fine
        depends_on: [src]
        transform:
          steps:
            - "SELECT id * 2 AS id FROM src"
        write: {{connection: local, path: out/fine.csv}}
"""
STEPS = '''
import os

from odibi.transforms import transform


@transform
def flaky_with_secret(df):
    """Raises a network fault that quotes the secret (as a driver's error might)."""
    raise ConnectionResetError("reset by db.example.com for etl:" + os.environ["DB_PASSWORD"])


@transform
def steady(df):
    return df
'''


def _make(project, *, function: str, logging_block: str = "") -> Path:
    return project(
        PROJECT.format(logging=logging_block, function=function), {"in.csv": "id\n1\n2\n", "steps.py": STEPS}
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["DB_PASSWORD"] = CANARY
    return env


def _no_canary(done, folder: Path) -> None:
    assert CANARY not in done.stdout and CANARY not in done.stderr
    for path in folder.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), f"the secret is in {path}"


def _log_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("odibi: ")]  # not progress lines


def test_quiet_by_default_a_line_per_node_at_info_everything_at_debug(project):
    cfg = _make(project, function="steady")
    quiet = odibi("run", str(cfg), cwd=cfg.parent, env=_env())
    assert quiet.returncode == 0, quiet.stderr
    assert _log_lines(quiet.stderr) == []
    assert "[3/3]" in quiet.stderr  # plain progress lines when piped
    info = odibi("run", str(cfg), "--log-level", "INFO", cwd=cfg.parent, env=_env())
    lines = _log_lines(info.stderr)
    assert any(line.startswith("INFO odibi.run: p.fine success") for line in lines), lines
    assert any("run " in line and "succeeded" in line for line in lines)
    assert not any(line.startswith("DEBUG") for line in lines)
    debug = odibi("run", str(cfg), "--log-level", "DEBUG", cwd=cfg.parent, env=_env())
    text = debug.stderr
    assert "DEBUG odibi.run: defining fine" in text and "SELECT" in text  # the SQL as run
    assert "DEBUG odibi.run: writing" in text and "DEBUG odibi.run: reading" in text
    for done in (quiet, info, debug):
        _no_canary(done, cfg.parent)


def test_structured_logs_are_json_lines_with_the_runs_fields(project):
    block = "logging: {level: INFO, structured: true, metadata: {team: finance}}"
    cfg = _make(project, function="steady", logging_block=block)
    done = odibi("run", str(cfg), cwd=cfg.parent, env=_env())
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in _log_lines(done.stderr)]
    finished = [r for r in records if r["event"] == "node_finished"]
    assert {r["node"] for r in finished} == {"src", "shaky", "fine"}
    for r in finished:
        assert r["run_id"] and r["pipeline"] == "p" and r["team"] == "finance" and r["level"] == "INFO"
        assert isinstance(r["duration_s"], float) and r["attempt"] == 1
    assert next(r for r in finished if r["node"] == "fine")["rows"] == 2
    assert records[0]["event"] == "run_started" and records[-1]["event"] == "run_finished"


@pytest.mark.parametrize("structured", [False, True])
def test_a_secret_appears_in_no_log_json_log_retry_message_or_state_record(project, structured):
    """The canary reaches odibi only through the environment (a connection's URL) and a failing
    function's error; runs at DEBUG with --debug, failing and succeeding, leave it nowhere."""
    block = "logging: {level: DEBUG, structured: true}" if structured else ""
    failing = _make(project, function="flaky_with_secret", logging_block=block)
    done = odibi("--debug", "run", str(failing), "--log-level", "DEBUG", cwd=failing.parent, env=_env())
    assert done.returncode == 1, done.stderr
    assert "attempt 1 of 3 failed" in done.stderr and "***" in done.stderr  # retried, masked
    assert "Traceback" in done.stdout  # --debug keeps the traceback in the failure record
    _no_canary(done, failing.parent)
    as_json = odibi("--debug", "run", str(failing), "--format", "json", cwd=failing.parent, env=_env())
    record = json.loads(as_json.stdout)
    shaky = next(n for n in record["nodes"] if n["node"] == "shaky")
    assert shaky["attempts"] == 3 and shaky["failure"]["retryable"] is True
    assert "gave up after 3 attempts" in shaky["failure"]["retry_reason"]
    _no_canary(as_json, failing.parent)
    ok = _make(project, function="steady", logging_block=block)
    fine = odibi("--debug", "run", str(ok), "--log-level", "DEBUG", cwd=ok.parent, env=_env())
    assert fine.returncode == 0, fine.stderr
    _no_canary(fine, ok.parent)
    runs = odibi("runs", str(failing), "--format", "json", cwd=failing.parent, env=_env())
    assert runs.returncode == 0 and "***" in runs.stdout
    _no_canary(runs, failing.parent)
