"""The connection contract: every type is a registered module whose config opens an implementation of
the :class:`~odibi.connections.base.Connection` protocol; plugins add types; paths never leave a root.

No emulator here: these are the rules a connection applies before any request (what ``odibi validate``
checks). tests/connections/test_object_stores.py runs the same types against Azurite, moto and the GCS
emulator.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from odibi.config.project import load_project_text
from odibi.connections import registry
from odibi.connections.base import Connection, ConnectionConfig, PathRuleError
from odibi.errors import ConfigError

CLOUD = {
    "s3": {"type": "s3", "bucket": "bkt", "path_prefix": "lake/raw"},
    "gcs": {"type": "gcs", "bucket": "bkt", "path_prefix": "lake/raw", "token": "anon"},
    "azure_adls": {
        "type": "azure_adls",
        "account": "acct",
        "container": "bkt",
        "path_prefix": "lake/raw",
        "auth_mode": "direct_key",
        "account_key": "a2V5a2V5a2V5a2V5",
    },
}

# paths that try to leave a connection's root, as text (a store or a later URL decoding may decode them)
TRAVERSAL = [
    "../x.csv",
    "a/../../x.csv",
    "..",
    "%2e%2e/x.csv",
    "%2E%2E/x.csv",
    "..%2fx.csv",
    "a%2f..%2f..%2fx.csv",
    "%252e%252e/x.csv",
    "a\\..\\..\\x.csv",
    "\\\\server\\share\\x.csv",
    "/bkt/x.csv",
    "//other/x.csv",
    "~/x.csv",
    "s3://other/x.csv",
    "s3a://bkt/x.csv",
    "gs://other/x.csv",
    "abfss://other@acct.dfs.core.windows.net/x.csv",
    "abfs://bkt@other/x.csv",
    "https://acct.blob.core.windows.net/other/x.csv",
    "file:///etc/passwd",
    "dbfs:/x.csv",
    "C:\\x.csv",
]


def _config(kind: str) -> ConnectionConfig:
    doc = {
        "project": "p",
        "connections": {"c": CLOUD[kind]},
        "pipelines": [
            {"pipeline": "p", "nodes": [{"name": "n", "read": {"connection": "c", "path": "x.csv"}}]}
        ],
    }
    import yaml

    return load_project_text(yaml.safe_dump(doc), "odibi.yaml").config.connections["c"]


def test_every_builtin_type_is_one_registered_module():
    for kind, target in registry.BUILTIN.items():
        model = registry._load(target)
        assert issubclass(model, ConnectionConfig)
        assert model.model_fields["type"].annotation.__args__ == (kind,)
        assert model.__module__ == target.partition(":")[0]


@pytest.mark.parametrize("kind", [*sorted(CLOUD), "local", "local_dbfs"])
def test_a_config_opens_an_implementation_of_the_protocol(kind, tmp_path):
    config = (
        _config(kind)
        if kind in CLOUD
        else registry._load(registry.BUILTIN[kind]).model_validate({"type": kind})
    )
    conn = config.open("c", tmp_path)
    assert isinstance(conn, Connection)
    described = conn.describe()
    assert described["type"] == kind and described["name"] == "c"
    assert "a2V5a2V5a2V5a2V5" not in str(described)


@pytest.mark.parametrize("kind", sorted(CLOUD))
def test_a_cloud_path_resolves_under_its_root(kind, tmp_path):
    conn = _config(kind).open("c", tmp_path)
    uri = conn.resolve("sales/2026/*.csv")
    assert uri.endswith("bkt/lake/raw/sales/2026/*.csv")
    spark = conn.spark_uri(conn.resolve("sales/x.parquet"))
    assert spark.startswith(
        {"s3": "s3a://bkt/", "gcs": "gs://bkt/", "azure_adls": "abfss://bkt@acct.dfs.core.windows.net/"}[kind]
    )
    assert spark.endswith("lake/raw/sales/x.parquet")


@pytest.mark.parametrize("kind", sorted(CLOUD))
@pytest.mark.parametrize("path", TRAVERSAL)
def test_the_traversal_corpus_is_refused_by_every_cloud_type(kind, path, tmp_path):
    conn = _config(kind).open("c", tmp_path)
    for write in (False, True):
        with pytest.raises(PathRuleError):
            conn.resolve(path, write=write)


@pytest.mark.parametrize("kind", sorted(CLOUD))
def test_a_location_outside_the_root_is_refused_before_any_request(kind, tmp_path):
    """The key check behind every request: a sibling prefix that starts like the root is outside it."""
    conn = _config(kind).open("c", tmp_path)
    scheme = conn.resolve("x").split("://")[0]
    for outside in ("bkt/lake/raw2/x.csv", "bkt/lake/x.csv", "other/lake/raw/x.csv", "bkt/lake/raw/../x.csv"):
        with pytest.raises(PathRuleError):
            conn.key(f"{scheme}://{outside}")


@pytest.mark.parametrize("kind", sorted(CLOUD))
def test_validate_points_at_a_traversal_path(kind, tmp_path):
    import yaml

    doc = {
        "project": "p",
        "connections": {"c": CLOUD[kind]},
        "pipelines": [
            {
                "pipeline": "p",
                "nodes": [
                    {
                        "name": "n",
                        "read": {"connection": "c", "path": "x.csv"},
                        "write": {"connection": "c", "path": "%2e%2e/out.csv"},
                    }
                ],
            }
        ],
    }
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = subprocess.run(
        [sys.executable, "-m", "odibi", "validate", str(cfg)], capture_output=True, text=True
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "encoded" in out.stdout + out.stderr and "odibi.yaml:" in out.stdout + out.stderr


def test_an_azure_auth_mode_without_its_keys_is_a_validation_error(tmp_path):
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        textwrap.dedent("""
        project: p
        connections:
          lake: {type: azure_adls, account: a, container: c, auth_mode: sas}
        pipelines:
          - pipeline: p
            nodes:
              - {name: n, read: {connection: lake, path: x.csv}}
    """)
    )
    from odibi import api

    with pytest.raises(ConfigError) as err:
        api.validate(cfg)
    assert "auth_mode sas needs sas_token" in str(err.value) and "odibi.yaml:4" in str(err.value)


PLUGIN = '''
from pathlib import Path
from typing import Literal
from odibi.connections.base import ConnectionConfig
from odibi.connections.local import LocalFiles


class MemoConnection(ConnectionConfig):
    """A plugin type: a local folder under another name."""

    type: Literal["memo"]
    folder: str

    def open(self, name: str, project_root: Path) -> LocalFiles:
        return LocalFiles(name, "memo", (project_root / self.folder).resolve())
'''


def test_a_plugin_type_is_one_module_and_one_registration(tmp_path, monkeypatch):
    (tmp_path / "memo_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register("memo", "memo_plugin:MemoConnection")
    try:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "in.csv").write_text("a\n1\n2\n")
        cfg = tmp_path / "odibi.yaml"
        cfg.write_text(
            textwrap.dedent("""
            project: p
            connections:
              m: {type: memo, folder: data}
            pipelines:
              - pipeline: p
                nodes:
                  - {name: n, read: {connection: m, path: in.csv}, write: {connection: m, path: out.csv}}
        """)
        )
        from odibi import api

        result = api.run_project(cfg)
        assert result.ok, result.to_dict()
        assert (tmp_path / "data" / "out.csv").read_text().splitlines() == ["a", "1", "2"]
        cfg.write_text(cfg.read_text().replace("folder: data", "folder: data, extra: 1"))
        with pytest.raises(ConfigError, match=r"memo connection: unknown key .extra."):
            api.validate(cfg)
    finally:
        registry._REGISTERED.pop("memo", None)
        registry.plugin_types.cache_clear()


def test_an_unknown_type_still_names_the_known_ones(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_project_text(
            "project: p\nconnections:\n  c: {type: s4}\npipelines: [{pipeline: p, nodes: [{name: n}]}]\n",
            "odibi.yaml",
        )
    text = str(err.value)
    assert "unknown connection type 's4'" in text and "'azure_adls', 'azure_sql', 'sql', 's3', 'gcs'" in text


def test_connection_types_live_in_no_isinstance_chain():
    root = Path(__file__).resolve().parents[2] / "odibi"
    text = "\n".join(p.read_text() for p in root.rglob("*.py"))
    assert "CONNECTION_TYPES" not in text
    assert "isinstance(connection, LocalConnection" not in text


def test_direct_key_is_warned_about_where_the_environment_looks_like_production(
    tmp_path, monkeypatch, caplog
):
    config = _config("azure_adls")
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    for var in ("ODIBI_ENV", "ENVIRONMENT", "ENV"):
        monkeypatch.delenv(var, raising=False)
    with caplog.at_level("WARNING", logger="odibi.connections"):
        config.open("c", tmp_path).prepare()
    assert not caplog.records
    monkeypatch.setenv("ODIBI_ENV", "production")
    with caplog.at_level("WARNING", logger="odibi.connections"):
        opened = config.open("c", tmp_path)
        opened.prepare()
        opened.prepare()  # once per run, however often asked
    assert "direct_key" in caplog.text and "prefer key_vault" in caplog.text and len(caplog.records) == 1
    assert "a2V5a2V5a2V5a2V5" not in caplog.text
