"""The pure core: importing the CLI, config, plan and compile loads no engine library (DESIGN.md §3.1)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["pandas", "duckdb", "pyspark", "ibis", "pyarrow", "numpy"]


def test_cli_import_leaves_engines_out():
    code = (
        "import sys, odibi.cli.app, odibi.api, odibi.config.models, odibi.plan.graph, odibi.compile.node;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_validate_and_compile_load_no_engine(tmp_path):
    """DuckDB's parser checks DuckDB SQL (compile/duckdb_syntax.py): the duckdb module may load, no engine
    or data library does."""
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        "project: t\npipelines:\n  - pipeline: p\n    nodes:\n"
        "      - {name: a, transform: {steps: ['SELECT 1 AS x']}}\n"
    )
    code = (
        "import sys; from odibi import api;"
        f"api.validate({str(cfg)!r}); api.compile_project({str(cfg)!r}, dialect='snowflake');"
        f"print([m for m in {[*(m for m in HEAVY if m != 'duckdb'), 'odibi.engines.duckdb']!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
