"""Incremental reads, the same on every engine: the first run reads everything, the next only the rows
past the mark (asserted on the rows the read returned), a failed pipeline keeps the old mark, a rolling
window reads a window again, --full-refresh reads everything."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from odibi.api import run_project
from odibi.errors import ConfigError

EVENTS1 = "id,updated_at,v\n1,2026-01-01 10:00:00,a\n2,2026-01-02 09:30:00,b\n3,2026-01-03 08:00:00,c\n"
EVENTS2 = EVENTS1 + "4,2026-01-03 12:00:00,d\n5,2026-01-04 00:00:00,e\n"

PROJECT = """
project: t
connections:
  data: {{type: local, base_path: ./data}}
  out: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: load
    nodes:
      - name: events
        read: {{connection: data, path: events.csv, incremental: {incremental}}}
        write: {{connection: out, path: events.parquet, mode: upsert, keys: [id]}}
"""


def _rows_read(result) -> int | None:
    return {n.node: n.rows_read for n in result.nodes}["events"]


def test_a_second_run_reads_only_new_rows(make_project, engine, tmp_path):
    cfg = make_project(PROJECT.format(incremental="{column: updated_at}"), {"data/events.csv": EVENTS1})
    first = run_project(cfg, engine=engine)
    assert first.ok and _rows_read(first) == 3
    state = json.loads((tmp_path / ".odibi" / "state" / "incremental.json").read_text())
    assert state["load/events"]["value"].startswith("2026-01-03 08:00:00")
    (tmp_path / "data" / "events.csv").write_text(EVENTS2)
    second = run_project(cfg, engine=engine)
    assert second.ok and _rows_read(second) == 2
    assert any("past 2026-01-03 08:00:00" in n for n in second.nodes[0].notes)
    third = run_project(cfg, engine=engine)  # nothing new
    assert third.ok and _rows_read(third) == 0
    out = pd.read_parquet(tmp_path / "out" / "events.parquet").sort_values("id")
    assert out["id"].tolist() == [1, 2, 3, 4, 5]
    refreshed = run_project(cfg, engine=engine, full_refresh=True)
    assert refreshed.ok and _rows_read(refreshed) == 5


def test_a_failed_pipeline_keeps_the_old_mark(make_project, engine, tmp_path):
    cfg = make_project(PROJECT.format(incremental="{column: updated_at}"), {"data/events.csv": EVENTS1})
    assert run_project(cfg, engine=engine).ok
    (tmp_path / "data" / "events.csv").write_text(EVENTS2 + "5,2026-01-05 00:00:00,dup\n")  # duplicate key 5
    failed = run_project(cfg, engine=engine)
    assert not failed.ok and "occur more than once" in (failed.nodes[0].error or "")
    (tmp_path / "data" / "events.csv").write_text(EVENTS2)
    again = run_project(cfg, engine=engine)
    assert again.ok and _rows_read(again) == 2  # the rows the failed run read are read again


def test_a_rolling_window_reads_the_lookback_again(make_project, engine, tmp_path):
    cfg = make_project(
        PROJECT.format(incremental="{column: updated_at, mode: rolling_window, lookback: 1d}"),
        {"data/events.csv": EVENTS1},
    )
    assert run_project(cfg, engine=engine).ok
    (tmp_path / "data" / "events.csv").write_text(EVENTS2)
    second = run_project(cfg, engine=engine)
    # mark 2026-01-03 08:00 minus 1 day: rows from 2026-01-02 08:00 on (ids 2, 3, 4, 5)
    assert second.ok and _rows_read(second) == 4


def test_an_unknown_incremental_column_is_a_clear_error(make_project, engine, tmp_path):
    # the CSV header is read offline: validate (before anything runs) refuses it, located at the column
    cfg = make_project(PROJECT.format(incremental="{column: nope}"), {"data/events.csv": EVENTS1})
    with pytest.raises(ConfigError, match="incremental column 'nope' is not a column of the read") as err:
        run_project(cfg, engine=engine)
    assert err.value.location is not None and err.value.location.line == 9
    # a parquet source's columns are not read offline: the run refuses it, before reading any row
    pd.read_csv(tmp_path / "data" / "events.csv").to_parquet(tmp_path / "data" / "events.pq")
    cfg.write_text(cfg.read_text().replace("path: events.csv", "path: events.pq"))
    result = run_project(cfg, engine=engine)
    assert "incremental column 'nope' is not a column of the read" in (result.nodes[0].error or "")
