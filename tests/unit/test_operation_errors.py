"""`odibi validate` on broken operation and function steps: exit 2, the error at the right line, no traceback.

Every case is a project whose first line of interest carries the marker ``# <-`` (stripped before it is
written): the error must name that line. Functions come from a module written beside the config; their
names (``oe_``) are unique to this module, as the transform registry is process-global.
"""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app

MODULE = """
import ibis

from odibi.transforms import transform


@transform
def oe_scale(df, factor: float, offset: float = 0.0):
    out = df.copy()
    out["amount"] = out["amount"] * factor + offset
    return out


@transform
def oe_ibis_tax(t: ibis.Table, rate: float = 0.2) -> ibis.Table:
    return t.mutate(amount_with_tax=t.amount * (1 + rate))
"""

HEAD = """\
project: errors
transform_modules: [oe_transforms.py]
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: src
        read: {connection: data, path: sales.csv}
      - name: other
        read: {connection: data, path: sales.csv}
      - name: out
        depends_on: [src]
        transform:
          steps:
"""

# name → (steps, appended under `steps:`, with `# <-` on the line the error must name; message fragments)
CASES = {
    "unknown_operation": (
        """
            - operation: aggregat  # <-
              params: {measures: {n: count(*)}}
        """,
        ["unknown operation 'aggregat'", "did you mean 'aggregate'"],
    ),
    "misspelt_param": (
        """
            - operation: filter
              params:
                conditon: amount > 0  # <-
        """,
        ["conditon", "did you mean 'condition'"],
    ),
    "missing_param": (
        """
            - operation: rename
              params: {}  # <-
        """,
        ["columns"],
    ),
    "wrong_type": (
        """
            - operation: limit
              params:
                n: ten  # <-
        """,
        ["n", "integer"],
    ),
    "unknown_column": (
        """
            - operation: select
              params:
                columns: [id, amuont]  # <-
        """,
        ["unknown column 'amuont'", "did you mean 'amount'"],
    ),
    "unknown_column_later_step": (
        """
            - operation: rename
              params: {columns: {amount: total}}
            - operation: sort
              params:
                by: [amount desc]  # <-
        """,
        ["unknown column 'amount'", "columns: id, name, total"],
    ),
    "join_right_not_in_depends_on": (
        """
            - operation: join
              params:
                right: other  # <-
                on: [id]
        """,
        ["'other' is not in its depends_on"],
    ),
    "unknown_function": (
        """
            - function: oe_scal  # <-
              params: {factor: 2}
        """,
        ["unknown transform function 'oe_scal'", "did you mean 'oe_scale'"],
    ),
    "unknown_function_param": (
        """
            - function: oe_scale
              params:
                factor: 2
                ofset: 1  # <-
        """,
        ["no parameter 'ofset'", "did you mean 'offset'"],
    ),
    "missing_function_param": (
        """
            - function: oe_scale
              params: {offset: 1}  # <-
        """,
        ["needs parameter", "factor"],
    ),
}


def _output(result) -> str:
    text = ""
    for attr in ("stdout", "stderr"):
        with contextlib.suppress(ValueError, AttributeError):
            text += getattr(result, attr) or ""
    return text if text.strip() else (result.output or "")


def _write(root: Path, steps: str) -> tuple[Path, int]:
    text = HEAD + textwrap.indent(textwrap.dedent(steps).strip("\n"), " " * 10) + "\n"
    lines = text.splitlines()
    marked = next(i for i, line in enumerate(lines, 1) if "# <-" in line)
    text = "\n".join(line.replace("  # <-", "") for line in lines) + "\n"
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "sales.csv").write_text("id,name,amount\n1,a,2.5\n2,b,4\n")
    (root / "oe_transforms.py").write_text(textwrap.dedent(MODULE))
    config = root / "odibi.yaml"
    config.write_text(text)
    return config, marked


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("case", list(CASES))
def test_bad_step_is_located(runner, tmp_path, case):
    steps, fragments = CASES[case]
    config, line = _write(tmp_path, steps)
    result = runner.invoke(app, ["validate", str(config)])
    out = _output(result)
    assert result.exit_code == 2, out
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert f"odibi.yaml:{line}:" in out, out
    for fragment in fragments:
        assert fragment.lower() in out.lower(), out


def test_valid_steps_pass(runner, tmp_path):
    config, _ = _write(
        tmp_path,
        """
            - operation: select
              params: {columns: [id, amount]}  # <-
            - function: oe_scale
              params: {factor: 2}
            - operation: join
              params:
                right: src
                on: [id]
        """,
    )
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 0, _output(result)


def test_compile_prints_ibis_function_sql(runner, tmp_path):
    config, _ = _write(
        tmp_path,
        """
            - sql: SELECT id, amount FROM df WHERE amount > 0  # <-
            - function: oe_ibis_tax
              params: {rate: 0.5}
        """,
    )
    result = runner.invoke(app, ["compile", str(config), "--node", "out"])
    out = _output(result)
    assert result.exit_code == 0, out
    assert "amount_with_tax" in out and "1.5" in out, out  # Ibis folds 1 + rate
    assert "SELECT" in out.upper() and "out_step1" in out, out
