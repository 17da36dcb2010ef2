"""What a user sees of data-quality outcomes through the CLI: per-node counts in the summary, a warning
line on stderr for a warn (at the default, quiet log level), the counts in ``--format json``, the final
line of an ok run that let bad rows through, and a threshold that fails the run (exit 1)."""

from __future__ import annotations

import json
import subprocess
import sys

CSV = "id,status,email\n" + "".join(
    f"{i},{'neww' if i % 4 == 0 else 'new'},{'' if i < 10 else f'u{i}@x.com'}\n" for i in range(40)
)  # 10 NULL emails (25 %), 10 statuses that are a typo (25 %)

PROJECT = """\
project: dq
connections:
  d: {{type: local, base_path: ./data}}
pipelines:
  - pipeline: p
    nodes:
      - name: users
        read: {{connection: d, path: in.csv}}
        validation: {{no_nulls: [email], on_fail: warn}}
        write: {{connection: d, path: out/users.parquet}}
      - name: orders
        read: {{connection: d, path: in.csv}}
        validation:
          accepted_values: {{status: [new, old]}}
          on_fail: quarantine
          quarantine: {{connection: d, path: out/rejects.parquet}}
          {extra}
        write: {{connection: d, path: out/orders.parquet}}
"""


def _odibi(tmp_path, *args: str, extra: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data/in.csv").write_text(CSV)
    (tmp_path / "odibi.yaml").write_text(PROJECT.format(extra=extra))
    return subprocess.run(
        [sys.executable, "-m", "odibi", "run", "odibi.yaml", "--no-story", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_summary_shows_warned_and_quarantined_rows(tmp_path):
    done = _odibi(tmp_path)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())  # the detail column may wrap
    assert "warn: no_nulls(email) 10 rows (25.0 %)" in out
    assert "quarantined 10 rows (25.0 %): accepted_values(status) 10" in out
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("ok: 2 succeeded, 0 failed, 0 skipped")
    assert last.endswith("; 1 node warned, 10 rows quarantined")
    assert "WARNING odibi.run: p.users: data-quality warn: no_nulls(email) 10 row(s) (25.0 %)" in done.stderr
    assert "orders: data-quality" not in done.stderr  # a quarantine is in the summary, not a warning


def test_json_carries_the_counts(tmp_path):
    done = _odibi(tmp_path, "--format", "json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["ok"] is True
    assert run["quality"] == {"nodes_warned": 1, "rows_quarantined": 10}
    nodes = {n["node"]: n for n in run["nodes"]}
    assert nodes["users"]["check_results"] == [
        {"check": "no_nulls(email)", "status": "warned", "failing_rows": 10, "message": "10 row(s) (25.0 %)",
         "failing_pct": 25.0}
    ]  # fmt: skip
    assert (nodes["orders"]["quarantined"], nodes["orders"]["checked_rows"]) == (10, 40)
    assert "data-quality warn" in done.stderr


def test_a_threshold_fails_the_run(tmp_path):
    done = _odibi(tmp_path, extra="max_failed_pct: 1")
    assert done.returncode == 1
    assert (  # the failure's log line (the summary's detail column holds the same text, wrapped)
        "p.orders failed: validation: data-quality threshold exceeded (on_fail: quarantine): 10 of 40 rows "
        "(25.0 %) failed a check, above max_failed_pct: 1" in done.stderr
    )
    assert "data-quality threshold" in done.stdout
    assert " ".join(done.stdout.strip().splitlines()[-1].split()).startswith("failed: 1 succeeded, 1 failed")
    assert not (tmp_path / "data/out/orders.parquet").exists()
    assert not (tmp_path / "data/out/rejects.parquet").exists()
