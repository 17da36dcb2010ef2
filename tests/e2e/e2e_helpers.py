"""Helpers for the end-to-end tests: run a shipped example in a scratch copy and compare its outputs.

The expected frames are computed in plain pandas from the example's input CSVs, independently of
odibi, DuckDB and SQL, so a wrong translation or a wrong engine result shows up as a difference.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@dataclass
class ExampleRun:
    """An example copied to a scratch folder and run once with ``run_project``."""

    folder: Path  # the copy
    result: object  # odibi.run.runner.RunResult

    @property
    def config(self) -> Path:
        return self.folder / "odibi.yaml"

    def out(self, rel: str) -> Path:
        return self.folder / "output" / rel


def copy_example(name: str, dest: Path) -> Path:
    """Copy ``examples/<name>`` to ``dest`` without any output of an earlier local run."""
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns("output", "__pycache__"))
    return dest


def run_example(name: str, dest: Path, engine: str | None = None) -> ExampleRun:
    """Copy the example to ``dest`` and run it in-process (on ``engine``, or the config's own)."""
    from odibi.api import run_project

    folder = copy_example(name, dest)
    result = run_project(str(folder / "odibi.yaml"), engine=engine)
    import yaml

    configured = yaml.safe_load((folder / "odibi.yaml").read_text()).get("engine", "duckdb")
    assert result.engine == (engine or configured)
    return ExampleRun(folder=folder, result=result)


def assert_all_nodes_succeeded(result, expected_nodes: list[tuple[str, str]]) -> None:
    """``result.ok`` and every (pipeline, node) present with status success, in pipeline order."""
    statuses = {(n.pipeline, n.node): (n.status, n.error) for n in result.nodes}
    failed = {k: v for k, v in statuses.items() if v[0] != "success"}
    assert not failed, f"nodes not successful: {failed}"
    assert result.ok
    assert sorted(statuses) == sorted(expected_nodes)
    # pipelines run in list order: every node of pipeline 1 is reported before pipeline 2's
    pipelines = [n.pipeline for n in result.nodes]
    first_seen = list(dict.fromkeys(pipelines))
    assert pipelines == sorted(pipelines, key=first_seen.index)
    assert first_seen == list(dict.fromkeys(p for p, _ in expected_nodes))


def start_cli(config: Path, cwd: Path) -> subprocess.Popen:
    """Start ``python -m odibi run <config>`` in ``cwd`` (collect it with ``communicate``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "odibi", "run", str(config)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_raw_csv(path: Path, sep: str = ",") -> pd.DataFrame:
    """A CSV as strings exactly as written: empty fields become '' (no NA guessing, no trimming)."""
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)


def normalise(df: pd.DataFrame, dates: tuple[str, ...] = ()) -> pd.DataFrame:
    """Make frames from different readers comparable: numbers → float64, dates → datetime64[ns],
    text → object with None for missing."""
    out = pd.DataFrame(index=range(len(df)))
    for col in df.columns:
        s = df[col].reset_index(drop=True)
        if col in dates:
            s = pd.to_datetime(s).astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            s = s.astype("float64")
        else:
            s = s.astype(object).where(s.notna(), None)
        out[col] = s
    return out


def assert_same_rows(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    *,
    sort_by: list[str],
    dates: tuple[str, ...] = (),
) -> None:
    """Same column names (in order), same rows (order-insensitive), values equal (floats: rtol 1e-9)."""
    assert list(actual.columns) == list(expected.columns)
    a = normalise(actual, dates).sort_values(sort_by, na_position="last", kind="mergesort")
    e = normalise(expected, dates).sort_values(sort_by, na_position="last", kind="mergesort")
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True),
        e.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=1e-9,
        atol=1e-9,
    )
