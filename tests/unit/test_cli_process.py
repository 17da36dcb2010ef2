"""The console entry point as a user runs it (a real process): read-only commands and in-process runs end
with ``os._exit`` after flushing (see ``odibi.cli.app.main``), so their output must arrive whole and their
exit codes must survive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.generate_project import generate


def _odibi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "odibi", *args], cwd=cwd, capture_output=True, text=True)


def test_compile_output_is_complete_and_exit_codes_survive(tmp_path):
    cfg = generate(tmp_path / "p", 300)
    done = _odibi("compile", str(cfg), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("-- pipeline: gen | node: ") == 300
    assert done.stdout.rstrip().endswith(";")  # the last node's SQL, flushed before the process ended

    cfg.write_text(cfg.read_text().replace("FROM n00150 AS a", "FROM n00999 AS a"))
    bad = _odibi("validate", str(cfg), cwd=tmp_path)
    assert bad.returncode == 2
    assert "unknown table 'n00999'" in bad.stderr and "Traceback" not in bad.stderr


def test_a_run_reports_and_writes_before_the_process_ends(tmp_path):
    cfg = generate(tmp_path / "p", 50)
    done = _odibi("run", str(cfg), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ok: 50 succeeded, 0 failed, 0 skipped" in done.stdout
    assert (cfg.parent / "out" / "last.csv").read_text().startswith("id,grp,v\n")
