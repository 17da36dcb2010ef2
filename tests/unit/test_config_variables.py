"""Config variables: ``vars:`` with ``--var`` overrides, ``${env:NAME}``, ``${date:...}`` and ``$$``.

Through the CLI (what a user sees: output files, compiled SQL, located errors with exit 2), except the
dates, whose clock only the Python API can fix.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from odibi.cli.app import app
from odibi.config.loader import load_text
from odibi.config.project import load_project, load_project_text
from odibi.errors import ConfigError, UsageError

CANARY = "odibi-canary-3c9d1f70"
DATA = {"data/sales.csv": "id,amount,country\n1,5,NL\n2,-1,DE\n3,7,NL\n4,9,DE\n"}

PROJECT = """\
project: vars_demo
vars:
  country: NL
  min_amount: 0
  out_name: sales
connections:
  data: {type: local, base_path: ./data}
  out: {type: local, base_path: ./out}
pipelines:
  - pipeline: p
    nodes:
      - name: sales
        read: {connection: data, path: sales.csv}
        transform:
          steps:
            - SELECT id, amount FROM df WHERE country = '${vars.country}' AND amount > ${vars.min_amount}
        write: {connection: out, path: "${vars.out_name}_${vars.country}.csv", format: csv}
"""


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _errors(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> list[dict]:
    result = runner.invoke(app, ["validate", *args, "--format", "json"], env=env)
    assert result.exit_code == 2, result.output
    return json.loads(result.stdout)


def _rows(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_vars_fill_a_path_and_sql(runner, make_project):
    cfg = make_project(PROJECT, DATA)
    result = runner.invoke(app, ["run", str(cfg)])
    assert result.exit_code == 0, result.output
    assert _rows(cfg.parent / "out" / "sales_NL.csv") == ["id,amount", "1,5", "3,7"]


def test_var_on_the_command_line_changes_the_output(runner, make_project):
    cfg = make_project(PROJECT, DATA)
    result = runner.invoke(app, ["run", str(cfg), "--var", "country=DE", "--var", "min_amount=-5"])
    assert result.exit_code == 0, result.output
    assert _rows(cfg.parent / "out" / "sales_DE.csv") == ["id,amount", "2,-1", "4,9"]
    assert not (cfg.parent / "out" / "sales_NL.csv").exists()
    compiled = runner.invoke(app, ["compile", str(cfg), "--var", "country=DE"])
    assert compiled.exit_code == 0, compiled.output
    assert "country = 'DE' AND amount > 0" in compiled.stdout


def test_var_not_declared_is_a_usage_error_with_a_suggestion(runner, make_project):
    cfg = make_project(PROJECT, DATA)
    [error] = _errors(runner, str(cfg), "--var", "contry=DE")
    assert error["kind"] == "usage"
    assert (
        error["message"]
        == "--var contry: no variable 'contry' is declared in vars: (did you mean 'country'?)"
    )
    assert "declared: country, min_amount, out_name" in error["hint"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("country", "--var 'country' is not name=value"),
        ("min_amount=lots", "--var min_amount=lots: 'min_amount' is an integer in vars:"),
    ],
)
def test_bad_var_options_exit_2(runner, make_project, option, message):
    cfg = make_project(PROJECT, DATA)
    [error] = _errors(runner, str(cfg), "--var", option)
    assert error["message"] == message


def test_unknown_var_is_located_at_the_reference_with_a_suggestion(runner, make_project):
    cfg = make_project(PROJECT.replace("${vars.min_amount}", "${vars.min_amout}"), DATA)
    [error] = _errors(runner, str(cfg))
    assert error["message"] == "unknown variable 'vars.min_amout' (did you mean 'vars.min_amount'?)"
    line = PROJECT.splitlines()[15]
    assert (error["file"], error["line"], error["col"]) == (str(cfg), 16, line.index("${vars.min_amount") + 1)
    text = runner.invoke(app, ["validate", str(cfg)]).stderr
    assert f"{cfg}:16:{error['col']}: error: unknown variable 'vars.min_amout'" in text


def test_every_unknown_reference_is_reported_in_one_run(runner, make_project):
    bad = PROJECT.replace("${vars.out_name}", "${vars.nope}").replace(
        "${vars.min_amount}", "${date:lastweek}"
    )
    errors = _errors(runner, str(make_project(bad, DATA)))
    assert [(e["line"], e["message"]) for e in errors] == [
        (16, "unknown date 'lastweek' in ${date:lastweek}"),
        (17, "unknown variable 'vars.nope'"),
    ]


def test_env_references_explicit_and_with_defaults(runner, make_project):
    text = PROJECT.replace("country: NL", "country: ${env:ODIBI_T_COUNTRY}").replace(
        "min_amount: 0", "min_amount: ${ODIBI_T_MIN:-6}"
    )
    cfg = make_project(text, DATA)
    result = runner.invoke(app, ["compile", str(cfg)], env={"ODIBI_T_COUNTRY": "NL"})
    assert result.exit_code == 0, result.output
    assert "country = 'NL' AND amount > 6" in result.stdout
    result = runner.invoke(app, ["compile", str(cfg)], env={"ODIBI_T_COUNTRY": "DE", "ODIBI_T_MIN": "-9"})
    assert "country = 'DE' AND amount > -9" in result.stdout
    [error] = _errors(runner, str(cfg), env={"ODIBI_T_COUNTRY": None})
    assert error["message"] == "environment variable 'ODIBI_T_COUNTRY' is not set"
    assert (error["line"], error["col"]) == (3, 12)


def test_dollar_dollar_stays_a_literal_dollar():
    data, _ = load_text("vars: {a: x}\nb: $${vars.a} costs $$5 and ${vars.a}\n", "f.yaml", env={})
    assert data["b"] == "${vars.a} costs $5 and x"


def test_a_whole_plain_reference_keeps_the_type_of_its_var():
    text = "vars: {n: 10, on: true, s: '7'}\na: ${vars.n}\nb: '${vars.n}'\nc: ${vars.on}\nd: x${vars.on}\ne: ${vars.s}\n"
    data, _ = load_text(text, "f.yaml", env={})
    assert (data["a"], data["b"], data["c"], data["d"], data["e"]) == (10, "10", True, "xtrue", "7")
    data, _ = load_text(text, "f.yaml", env={}, variables={"n": "12", "on": "false"})
    assert (data["a"], data["c"]) == (12, False)


DATES = """\
project: dates
vars:
  run_date: ${date:yesterday}
connections:
  data: {type: local, base_path: ./data}
pipelines:
  - pipeline: p
    nodes:
      - name: n
        description: "${date:today} ${date:-7d} ${date:+1d} ${date:-2w|%Y/%m/%d} ${date:tomorrow|%Y%m%d}"
        read: {connection: data, path: "day=${vars.run_date}/x.csv"}
"""


def test_dates_come_from_one_reading_of_the_clock():
    reads = []

    def clock() -> date:
        reads.append(1)
        return date(2024, 3, 1)

    project = load_project_text(DATES, "dates.yaml", clock=clock)
    node = project.config.pipelines[0].nodes[0]
    assert node.description == "2024-03-01 2024-02-23 2024-03-02 2024/02/16 20240302"
    assert node.read.path == "day=2024-02-29/x.csv"
    assert len(reads) == 1  # one "today" for the whole load
    again = load_project_text(DATES, "dates.yaml", clock=clock, variables={"run_date": "2023-12-31"})
    assert again.config.pipelines[0].nodes[0].read.path == "day=2023-12-31/x.csv"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("${date:-7x}", "unknown date '-7x' in ${date:-7x}"),
        ("${date:today|}", "empty date format in ${date:today|}"),
        ("${vars:run_date}", "'${vars:run_date}' is not a reference: write ${vars.name}"),
        ("${env.HOME}", "'${env.HOME}' is not a reference: write ${env:...}"),
    ],
)
def test_malformed_references_are_located(ref, message):
    text = DATES.replace("${date:+1d}", ref)
    with pytest.raises(ConfigError) as err:
        load_project_text(text, "dates.yaml", clock=lambda: date(2024, 3, 1))
    assert err.value.message == message
    line = text.splitlines()[9]
    assert (err.value.location.line, err.value.location.col) == (10, line.index(ref) + 1)


def test_var_values_may_not_use_other_vars():
    with pytest.raises(ConfigError) as err:
        load_text("vars:\n  a: x\n  b: ${vars.a}-y\n", "f.yaml", env={})
    assert "may not use another var" in err.value.message
    assert (err.value.location.line, err.value.location.col) == (3, 6)


def test_var_for_a_config_without_vars_is_refused(make_project):
    cfg = make_project(
        DATES.replace("vars:\n  run_date: ${date:yesterday}\n", "").replace("${vars.run_date}", "x")
    )
    with pytest.raises(UsageError) as err:
        load_project(cfg, variables={"run_date": "2024-01-01"})
    assert err.value.message == "--var run_date: no variable 'run_date' is declared in vars:"


def test_secret_env_var_via_env_prefix_is_refused_outside_secret_fields(runner, make_project):
    text = PROJECT.replace("path: sales.csv", 'path: "${env:MY_PASSWORD}.csv"')
    cfg = make_project(text, DATA)
    result = runner.invoke(app, ["validate", str(cfg)], env={"MY_PASSWORD": CANARY})
    assert result.exit_code == 2, result.output
    assert CANARY not in result.output
    line = text.splitlines()[12]
    where = f"{cfg}:13:{line.index('${env:MY_PASSWORD') + 1}"
    assert f"{where}: error: ${{env:MY_PASSWORD}} holds a secret (its name says so)" in result.stderr
    # and through a var: the var's value is where the secret would land
    text = PROJECT.replace("out_name: sales", "out_name: ${env:MY_PASSWORD}")
    result = runner.invoke(app, ["validate", str(make_project(text, DATA))], env={"MY_PASSWORD": CANARY})
    assert result.exit_code == 2 and "holds a secret" in result.stderr and CANARY not in result.output
