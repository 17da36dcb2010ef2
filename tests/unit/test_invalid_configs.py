"""`odibi validate` on a corpus of broken configs: each is rejected, located, and explained.

Every file in ``tests/fixtures/invalid/`` starts with a header naming where its mistake is and what the
message must say::

    # expect: line=17 message="unknown key 'mdoe'" message="did you mean 'mode'"
    # expect-all: line=17 message="unknown connection" line=21 message="unknown dependency" ...

``line`` is the 1-based line of the mistake; each ``message`` is a case-insensitive fragment that the
error reported *at that line* must contain (all of them). ``expect-all`` files hold several independent
mistakes that one run must report together.

The CLI runs in-process through typer's CliRunner (fast); one test runs the real entry point
(``python -m odibi``) in a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "invalid"
CORPUS = sorted(FIXTURES.glob("*.yaml"))

# Env var the fixture env_var_unset.yaml relies on being unset.
UNSET_VAR = "ODIBI_TEST_UNSET_SQL_PASSWORD"
# File that yaml_python_tag.yaml would create if the tag were ever executed.
PWNED = Path("/tmp/odibi_pwned")

_HEADER = re.compile(r"^#\s*(expect|expect-all):(.*)$")
_ITEM = re.compile(r'line=(\d+)|message="([^"]*)"')


@dataclass
class Expected:
    line: int
    fragments: list[str]


def expectations(path: Path) -> tuple[bool, list[Expected]]:
    """Parse the fixture's first-line header: (expect-all?, expected errors)."""
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    m = _HEADER.match(first)
    assert m, f"{path.name}: first line must be '# expect: line=N message=\"...\"'"
    out: list[Expected] = []
    for line, frag in _ITEM.findall(m.group(2)):
        if line:
            out.append(Expected(int(line), []))
        else:
            assert out, f"{path.name}: message= before any line="
            out[-1].fragments.append(frag)
    assert out, f"{path.name}: header names no line"
    return m.group(1) == "expect-all", out


def error_lines(output: str, path: Path) -> list[tuple[int, str]]:
    """(line, message) of every `FILE:LINE:COL: message` line that names this fixture."""
    pat = re.compile(re.escape(path.name) + r":(\d+):(\d+): (.*)$")
    found = []
    for text in output.splitlines():
        m = pat.search(text)
        if m:
            found.append((int(m.group(1)), m.group(3)))
    return found


def assert_reported(output: str, path: Path, exp: Expected) -> None:
    located = error_lines(output, path)
    assert f":{exp.line}:" in output, (
        f"{path.name}: no error at line {exp.line}; reported {[ln for ln, _ in located]}\n{output}"
    )
    at_line = [msg for ln, msg in located if ln == exp.line]
    ok = [msg for msg in at_line if all(f.casefold() in msg.casefold() for f in exp.fragments)]
    assert ok, (
        f"{path.name}: the error at line {exp.line} should contain {exp.fragments}; "
        f"got {at_line}\n--- output ---\n{output}"
    )


def _output(result) -> str:
    """stdout and stderr of a CliRunner result, whatever the click/typer version keeps apart."""
    parts = []
    for attr in ("stdout", "stderr"):
        with contextlib.suppress(ValueError, AttributeError):  # stderr not captured separately
            parts.append(getattr(result, attr) or "")
    text = "\n".join(parts)
    return text if text.strip() else (result.output or "")


@pytest.fixture(autouse=True)
def _no_unset_var(monkeypatch):
    monkeypatch.delenv(UNSET_VAR, raising=False)


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def validate(runner: CliRunner, path: Path, *extra: str):
    result = runner.invoke(app, ["validate", str(path), *extra])
    # An exception that escaped the CLI is a crash, whatever the exit code says.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"{path.name}: odibi validate crashed:\n{tb}")
    return result


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 30
    assert (FIXTURES / "five_errors.yaml") in CORPUS


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_invalid_config_is_rejected_with_location(runner, path):
    all_, expected = expectations(path)
    existed = PWNED.exists()
    result = validate(runner, path)
    out = _output(result)
    assert "Traceback (most recent call last)" not in out, out
    assert result.exit_code == 2, f"{path.name}: exit code {result.exit_code}, expected 2\n{out}"
    if not all_:
        assert len(expected) == 1, f"{path.name}: use expect-all for several mistakes"
    for exp in expected:
        assert_reported(out, path, exp)
    if not existed:
        assert not PWNED.exists(), "a YAML tag was executed"


def test_five_errors_are_reported_in_one_run(runner):
    path = FIXTURES / "five_errors.yaml"
    all_, expected = expectations(path)
    assert all_ and len(expected) == 5
    result = validate(runner, path)
    out = _output(result)
    assert result.exit_code == 2, out
    reported = {ln for ln, _ in error_lines(out, path)}
    missing = [e.line for e in expected if e.line not in reported]
    assert not missing, f"lines {missing} not reported in one run; reported {sorted(reported)}\n{out}"


JSON_KEYS = {"kind", "message", "file", "line", "col", "pipeline", "node", "step", "hint"}


@pytest.mark.parametrize(
    "name",
    ["unknown_key_write.yaml", "cycle_two.yaml", "sql_syntax_block_line3.yaml", "five_errors.yaml"],
)
def test_json_format(runner, name):
    path = FIXTURES / name
    _, expected = expectations(path)
    result = validate(runner, path, "--format", "json")
    assert result.exit_code == 2
    text = result.stdout
    try:
        errors = json.loads(text)
    except json.JSONDecodeError:
        pytest.fail(f"--format json did not print JSON on stdout:\n{_output(result)}")
    assert isinstance(errors, list) and errors
    for err in errors:
        assert isinstance(err, dict)
        assert set(err) >= JSON_KEYS, f"missing keys {JSON_KEYS - set(err)} in {err}"
        assert isinstance(err["message"], str) and err["message"]
        if err["line"] is not None:
            assert isinstance(err["line"], int) and err["line"] >= 1
            assert isinstance(err["col"], int) and err["col"] >= 1
            assert Path(err["file"]).name == name
    for exp in expected:
        hits = [
            e
            for e in errors
            if e["line"] == exp.line and all(f.casefold() in e["message"].casefold() for f in exp.fragments)
        ]
        assert hits, f"{name}: no JSON error at line {exp.line} containing {exp.fragments}: {errors}"


def test_json_names_node_and_pipeline(runner):
    path = FIXTURES / "unknown_dependency_close.yaml"
    result = validate(runner, path, "--format", "json")
    errors = json.loads(result.stdout)
    dep = [e for e in errors if "unknown dependency" in e["message"].lower()]
    assert dep, errors
    assert dep[0]["pipeline"] == "bronze_to_silver"
    assert dep[0]["node"] == "save_silver"
    assert dep[0]["hint"] is None or isinstance(dep[0]["hint"], str)


def test_real_entry_point_in_a_subprocess():
    path = FIXTURES / "unknown_key_node.yaml"
    _, (exp,) = expectations(path)
    proc = subprocess.run(
        [sys.executable, "-m", "odibi", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert "Traceback (most recent call last)" not in out, out
    assert proc.returncode == 2, out
    assert_reported(out, path, exp)
    # A caret snippet points under the mistake.
    assert "^" in out, out
