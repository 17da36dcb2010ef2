"""Secrets never leave their field (SECURITY.md "How odibi handles secrets").

Reproduced on 0.4.0: a value from the environment was echoed by validate errors (``invalid value
'<secret>'``), by ``odibi compile`` when it sat in SQL, by engine and I/O errors (in a path), and by Spark's
Java stack traces on stderr. Now a secret variable outside a secret field is refused at validate with its
location, and every output masks registered values as ``***``.

The process tests run the real CLI with a canary value in the environment and assert that the canary
appears in no stdout, no stderr and no file under the project folder afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from odibi import secrets
from odibi.config.project import load_project
from odibi.errors import ConfigError, ConfigErrors

CANARY = "odibi-canary-7f3e9c2a"
CANARY2 = "odibi-canary-5b1d0e94"  # fills a secret field through a variable whose name says nothing
# the canaries built by SQL at run time, so that no file of the project holds them
CANARY_SQL = "'odibi-canary-' || '7f3e9c2a'"
CANARY2_SQL = "'odibi-canary-' || '5b1d0e94'"


@pytest.fixture(autouse=True)
def _fresh_registry():
    secrets.clear()
    yield
    secrets.clear()


# --------------------------------------------------------------------------- mask() and the name rule


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD", "PASSWORD", "MYSQL_PASSWD", "AZURE_CLIENT_SECRET", "CLIENTSECRET", "ACCOUNT_KEY",
        "API_KEY", "APIKEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "SAS_TOKEN", "AUTHTOKEN", "ACCESS_TOKENS",
        "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS", "DB_CREDENTIAL",
        "ODIBI_SECRET_X", "odibi_secret_lower", "ODIBI_SECRET_WAREHOUSE_NAME", "db_password",
    ],
)  # fmt: skip
def test_secret_names(name):
    assert secrets.is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "KEYBOARD", "MONKEY", "TURKEY_COUNT", "HOCKEY", "TOKENIZERS_PARALLELISM", "KEYSTROKES", "PWD",
        "HOME", "PATH", "DATABASE_URL", "SECRET_NAME", "ADLS_SECRET_NAME", "KEY_VAULT_NAME", "KEY_VAULT",
        "AZURE_FEDERATED_TOKEN_FILE", "TOKEN_URL", "SSH_KEY_PATH", "ODIBI_ENV", "USER", "",
    ],
)  # fmt: skip
def test_not_secret_names(name):
    assert not secrets.is_secret_name(name)


def test_mask_longest_first_and_minimum_length():
    secrets.register("abcd")
    secrets.register("abcdefgh")
    secrets.register("xyz")  # shorter than MIN_LENGTH: cannot be masked safely, ignored
    secrets.register("true")  # a flag word, never a secret value
    assert secrets.MIN_LENGTH == 4
    assert secrets.mask("a abcdefgh b abcd c xyz true") == "a *** b *** c xyz true"
    assert secrets.mask(None) is None and secrets.mask(3) == 3


def test_mask_encoded_forms_and_data():
    secrets.register(SecretStr("p@ss/w rd!"))
    assert secrets.mask("postgresql://u:p%40ss%2Fw%20rd%21@h/db") == "postgresql://u:***@h/db"
    assert secrets.mask("u:p%40ss%2Fw+rd%21@h") == "u:***@h"
    data = {"error": "bad p@ss/w rd!", "rows": [{"p@ss/w rd!": 1}], "n": 2, "t": ("p@ss/w rd!",)}
    assert secrets.mask_data(data) == {"error": "bad ***", "rows": [{"***": 1}], "n": 2, "t": ("***",)}
    assert secrets.mask(json.dumps({"v": 'a"quoted\\secret'})) == json.dumps({"v": 'a"quoted\\secret'})
    secrets.register('a"quoted\\secret')
    assert json.loads(secrets.mask(json.dumps({"v": 'a"quoted\\secret'}))) == {"v": "***"}


def test_register_env_takes_secret_names_only():
    secrets.register_env({"DB_PASSWORD": "hunter2hunter2", "KEYBOARD": "qwertyuiop", "API_KEY": "k3y-value"})
    assert secrets.mask("hunter2hunter2 qwertyuiop k3y-value") == "*** qwertyuiop ***"


def test_masking_filter_masks_records():
    secrets.register(CANARY)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "value %s here", (CANARY,), None)
    secrets.MaskingFilter().filter(record)
    assert record.getMessage() == "value *** here"


def test_every_secret_field_is_a_connection_field():
    """secret_fields.py finds secret fields under `connections` only; a SecretStr anywhere else in the
    models would need it extended."""
    from odibi.config import models
    from odibi.config.secret_fields import secret_fields

    conn_models = {
        m for m in vars(models).values() if isinstance(m, type) and m.__name__.endswith("Connection")
    }
    found = []
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, info in model.model_fields.items():
                if "SecretStr" in str(info.annotation):
                    found.append((model, name))
    assert found and all(model in conn_models for model, _ in found), found
    assert secret_fields()["sql"] == {"url"}
    assert secret_fields()["azure_adls"] == {"account_key", "sas_token", "connection_string", "client_secret"}
    assert secret_fields()["s3"] == {"access_key_id", "secret_access_key", "session_token"}
    assert sum(len(keys) for keys in secret_fields().values()) == len(found)


# --------------------------------------------------------------------------- refusal at validate

ENV = {"DB_PASSWORD": CANARY, "WAREHOUSE_PW": CANARY2, "PLAIN_DIR": "in"}


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_project(cfg, env=ENV if env is None else env)


def _errors(exc: ConfigError) -> list[ConfigError]:
    return list(exc.errors) if isinstance(exc, ConfigErrors) else [exc]


HEAD = """
project: t
connections:
  local: {type: local, base_path: .}
  db: {type: sql, url: "postgresql://etl:${DB_PASSWORD}@db.example.com/sales"}
  az: {type: azure_sql, server: s, database: d, username: etl, password: "${WAREHOUSE_PW}"}
pipelines:
  - pipeline: p
    nodes:
"""


def test_secrets_in_secret_fields_are_accepted_and_registered(tmp_path):
    project = _load(tmp_path, HEAD + "      - {name: a, transform: {steps: ['SELECT 1 AS x']}}\n")
    assert project.config.connections["az"].password.get_secret_value() == CANARY2
    assert secrets.mask(f"{CANARY} {CANARY2}") == "*** ***"  # both registered when the config loads


@pytest.mark.parametrize(
    ("node", "var", "where"),
    [
        ("{name: a, read: {connection: local, path: 'in_${DB_PASSWORD}.csv'}}", "DB_PASSWORD",
         "pipelines[0].nodes[0].read.path"),
        ('{name: a, transform: {steps: ["SELECT \'${DB_PASSWORD}\' AS s"]}}', "DB_PASSWORD",
         "pipelines[0].nodes[0].transform.steps[0]"),
        ("{name: a, description: 'pw ${WAREHOUSE_PW}', transform: {steps: ['SELECT 1 AS x']}}",
         "WAREHOUSE_PW", "pipelines[0].nodes[0].description"),
        ("{name: a, transform: {steps: ['SELECT 1 AS x']}, validation: {custom_sql: {'${DB_PASSWORD}': 'x > 0'}}}",
         "DB_PASSWORD", "a key of pipelines[0].nodes[0].validation.custom_sql"),
    ],
)  # fmt: skip
def test_secret_outside_its_field_is_refused_with_its_location(tmp_path, node, var, where):
    line = f"      - {node}"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, HEAD + line + "\n")
    (err,) = _errors(info.value)
    assert err.exit_code == 2
    # at the ${VAR} itself, on the node's line (9)
    assert (err.location.line, err.location.col) == (9, line.index("${" + var) + 1), str(err)
    assert f"${{{var}}}" in err.message and where in err.message
    assert "rename the variable" in err.hint or "holds no secret" in err.hint
    assert CANARY not in str(err) and CANARY2 not in str(err)


def test_refusal_comes_with_schema_errors_and_those_are_masked(tmp_path):
    with pytest.raises(ConfigErrors) as info:
        _load(
            tmp_path, "project: t\nengine: ${DB_PASSWORD}\n" + HEAD.split("\n", 2)[2] + "      - {name: a}\n"
        )
    messages = [e.message for e in info.value.errors]
    assert any("${DB_PASSWORD} holds a secret" in m for m in messages)
    assert any("engine: invalid value '***'" in m for m in messages), messages
    assert CANARY not in str(info.value)


def test_plain_variables_and_escapes_are_not_refused(tmp_path):
    text = HEAD + (
        "      - {name: a, description: 'costs $${DB_PASSWORD}', read: {connection: local, path: '${PLAIN_DIR}/x.csv'}}\n"
    )
    project = _load(tmp_path, text)
    node = project.config.pipelines[0].nodes[0]
    assert node.description == "costs ${DB_PASSWORD}" and node.read.path == "in/x.csv"


# --------------------------------------------------------------------------- the real CLI


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DB_PASSWORD": CANARY, "ODIBI_SECRET_X": CANARY, "WAREHOUSE_PW": CANARY2, **extra})
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def _odibi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "odibi", *args], cwd=cwd, env=_env(), capture_output=True, timeout=600
    )


def _assert_no_canary(done: subprocess.CompletedProcess | None, folder: Path) -> None:
    for canary in (CANARY, CANARY2):
        if done is not None:
            assert canary.encode() not in done.stdout, done.stdout.decode(errors="replace")
            assert canary.encode() not in done.stderr, done.stderr.decode(errors="replace")
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert canary.encode() not in path.read_bytes(), f"{canary} in {path}"


LEAKY = """
project: leaky
connections:
  local: {type: local, base_path: .}
  db: {type: sql, url: "postgresql://etl:${DB_PASSWORD}@db.example.com/sales"}
pipelines:
  - pipeline: p
    nodes:
      - name: by_path
        read: {connection: local, path: "in_${DB_PASSWORD}.csv"}
      - name: by_sql
        transform:
          steps:
            - "SELECT '${ODIBI_SECRET_X}' AS s"
        write: {connection: local, path: out/s.csv}
"""


def test_validate_and_compile_refuse_a_secret_in_a_path_or_sql(make_project):
    cfg = make_project(LEAKY)
    folder = cfg.parent
    text = _odibi("validate", str(cfg), cwd=folder)
    assert text.returncode == 2, text.stderr
    err = text.stderr.decode()
    assert f"{cfg}:9:" in err and f"{cfg}:13:" in err and "holds a secret" in err and "hint:" in err
    as_json = _odibi("validate", str(cfg), "--format", "json", cwd=folder)
    assert as_json.returncode == 2
    items = json.loads(as_json.stdout)
    assert [(i["line"], i["kind"]) for i in items] == [(9, "config"), (13, "config")]
    compiled = _odibi("compile", str(cfg), "--dialect", "snowflake", cwd=folder)
    assert compiled.returncode == 2 and b"holds a secret" in compiled.stderr
    debug = _odibi("--debug", "compile", str(cfg), cwd=folder)
    assert debug.returncode == 2 and b"Traceback" in debug.stderr
    for done in (text, as_json, compiled, debug):
        _assert_no_canary(done, folder)


RUNNABLE = f"""
project: masked
connections:
  local: {{type: local, base_path: .}}
  db: {{type: sql, url: "postgresql://etl:${{DB_PASSWORD}}@db.example.com/sales"}}
  az: {{type: azure_sql, server: s, database: d, username: etl, password: "${{WAREHOUSE_PW}}"}}
pipelines:
  - pipeline: p
    nodes:
      - name: ok
        read: {{connection: local, path: in.csv}}
        write: {{connection: local, path: out/ok.csv}}
      - name: cast_named
        depends_on: [ok]
        transform:
          steps:
            - "SELECT CAST({CANARY_SQL} AS INT) AS x FROM ok"
        validation: {{not_empty: true}}
      - name: cast_field
        depends_on: [ok]
        transform:
          steps:
            - "SELECT CAST({CANARY2_SQL} AS INT) AS x FROM ok"
        validation: {{not_empty: true}}
      - name: from_db
        read: {{connection: db, table: sales}}
        write: {{connection: local, path: out/db.csv}}
"""


def test_a_failing_run_masks_engine_errors_logs_and_tracebacks(make_project, engine):
    """The engine's error quotes the value (DuckDB 'Could not convert string ...', Spark CAST_INVALID_INPUT
    with its Java stack trace): the summary shows ***, and nothing reaches stdout, stderr or a file."""
    cfg = make_project(RUNNABLE, {"in.csv": "id,v\n1,a\n"})
    folder = cfg.parent
    plain = _odibi("run", str(cfg), "--engine", engine, cwd=folder)
    assert plain.returncode == 1, plain.stderr
    out = plain.stdout.decode()
    assert out.count("***") >= 2, out  # both casts failed, quoting a masked value
    assert "cast_named" in out and "cast_field" in out and "from_db" in out
    debug = _odibi("--debug", "run", str(cfg), "--engine", engine, "--log-level", "DEBUG", cwd=folder)
    assert debug.returncode == 1, debug.stderr
    assert debug.stdout.decode().count("***") >= 2
    _assert_no_canary(plain, folder)
    _assert_no_canary(debug, folder)


def test_a_run_refuses_a_secret_in_a_path_or_sql_before_any_engine(make_project, engine):
    cfg = make_project(LEAKY, {"in.csv": "id\n1\n"})
    done = _odibi("run", str(cfg), "--engine", engine, cwd=cfg.parent)
    assert done.returncode == 2
    assert f"{cfg}:9:" in done.stderr.decode() and b"holds a secret" in done.stderr
    assert not (cfg.parent / "out").exists()
    _assert_no_canary(done, cfg.parent)


def test_compile_masks_a_literal_equal_to_a_secret(tmp_path):
    """A secret typed into SQL literally (the same value as a secret-named variable) is masked in
    `odibi compile` output (the file itself is the user's own)."""
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        f"project: t\npipelines:\n  - pipeline: p\n    nodes:\n"
        f"      - {{name: a, transform: {{steps: [\"SELECT '{CANARY}' AS s\"]}}}}\n"
    )
    done = _odibi("compile", str(cfg), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"'***' AS s" in done.stdout and CANARY.encode() not in done.stdout + done.stderr


def test_run_result_json_is_masked(make_project, monkeypatch):
    from odibi import api

    cfg = make_project(RUNNABLE, {"in.csv": "id,v\n1,a\n"})
    monkeypatch.setenv("DB_PASSWORD", CANARY)
    monkeypatch.setenv("WAREHOUSE_PW", CANARY2)
    seen = []
    result = api.run_project(cfg, engine="duckdb", on_node=lambda r: seen.append(r.error or ""))
    text = json.dumps(result.to_dict())
    assert "***" in text and CANARY not in text and CANARY2 not in text
    assert not any(CANARY in s or CANARY2 in s for s in seen)


def test_python_output_channels_are_masked(tmp_path):
    """Logs (any logger, args and exceptions), warnings and uncaught tracebacks of the CLI process."""
    code = textwrap.dedent(
        f"""
        import logging, sys, warnings
        from odibi import secrets
        secrets.register({CANARY!r})
        secrets.install_output_masking()
        logging.basicConfig(stream=sys.stderr)
        log = logging.getLogger("anything")
        log.error("arg %s", {CANARY!r})
        try:
            raise ValueError({CANARY!r})
        except ValueError:
            log.exception("failed")
        own = logging.getLogger("own"); own.propagate = False
        h = logging.StreamHandler(sys.stderr); h.setFormatter(logging.Formatter("%(message)s")); own.addHandler(h)
        own.warning({CANARY!r})
        warnings.warn("warned " + {CANARY!r})
        raise RuntimeError("uncaught " + {CANARY!r})
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    err = done.stderr
    assert CANARY not in err, err
    assert "arg ***" in err and "ValueError: ***" in err and "warned ***" in err and "uncaught ***" in err


CLEAN = """
project: canary
connections:
  local: {type: local, base_path: .}
  db: {type: sql, url: "postgresql://etl:${DB_PASSWORD}@db.example.com/sales"}
  az: {type: azure_sql, server: s, database: d, username: etl, password: "${WAREHOUSE_PW}"}
pipelines:
  - pipeline: p
    nodes:
      - name: raw
        read: {connection: local, path: in.csv}
      - name: doubled
        depends_on: [raw]
        transform:
          steps:
            - SELECT id, id * 2 AS twice FROM raw
        write: {connection: local, path: out/doubled.parquet}
"""


def test_a_canary_secret_appears_in_no_output_of_any_command(make_project):
    """Every command of the CLI on a valid project whose secret fields hold canaries (and a secret-named
    variable in the environment): no stdout, stderr or file written holds either canary."""
    cfg = make_project(CLEAN, {"in.csv": "id\n1\n2\n"})
    folder = cfg.parent
    commands = [
        ("validate", str(cfg)),
        ("validate", str(cfg), "--format", "json"),
        ("compile", str(cfg)),
        ("compile", str(cfg), "--dialect", "tsql"),
        ("run", str(cfg), "--dry-run"),
        ("run", str(cfg)),
        ("--debug", "run", str(cfg), "--log-level", "DEBUG"),
        ("run", str(cfg), "--compare", "duckdb,pandas"),
        ("list", "operations"),
        ("list", "transforms", str(cfg)),
        ("list", "engines"),
        ("schema",),
        ("init", str(folder / "fresh"), "--name", "fresh"),
    ]
    for args in commands:
        done = _odibi(*args, cwd=folder)
        assert done.returncode == 0, (args, done.stderr.decode(errors="replace"))
        _assert_no_canary(done, folder)
    assert (folder / "out" / "doubled.parquet").exists()
