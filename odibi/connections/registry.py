"""Connection types by name: built-ins plus plugins from the ``odibi.connections`` entry point group.

A type is one module holding its config model (a :class:`~odibi.connections.base.ConnectionConfig`
whose ``type`` is a literal) and the implementation that model opens. Adding a built-in type is that
module plus one line in :data:`BUILTIN`; the config union, the JSON Schema and validation follow.
A plugin names its config model in an entry point (``my_store = "my_pkg.store:MyStoreConnection"``);
it is looked up only when a config uses a type that is not built in.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

from odibi.connections.base import Connection, ConnectionConfig

BUILTIN: dict[str, str] = {
    "local": "odibi.connections.local:LocalConnection",
    "local_dbfs": "odibi.connections.local_dbfs:LocalDbfsConnection",
    "azure_adls": "odibi.connections.azure_adls:AzureAdlsConnection",
    "azure_sql": "odibi.connections.azure_sql:AzureSqlConnection",
    "sql": "odibi.connections.sql:SqlConnection",
    "s3": "odibi.connections.s3:S3Connection",
    "gcs": "odibi.connections.gcs:GcsConnection",
}

_REGISTERED: dict[str, str] = {}


def _load(target: str) -> type[ConnectionConfig]:
    module, _, name = target.partition(":")
    return getattr(import_module(module), name)


def builtin_configs() -> list[type[ConnectionConfig]]:
    """The config models of the built-in types, in declaration order (the config union)."""
    return [_load(target) for target in BUILTIN.values()]


def register(type_name: str, target: str) -> None:
    """Register a plugin type programmatically ("module:ConfigModel"), as an entry point would."""
    _REGISTERED[type_name] = target
    plugin_types.cache_clear()


@cache
def plugin_types() -> dict[str, str]:
    """Plugin types (registered, then entry points); read only when a config names an unknown type."""
    found = {ep.name: ep.value for ep in entry_points(group="odibi.connections") if ep.name not in BUILTIN}
    return {**found, **{k: v for k, v in _REGISTERED.items() if k not in BUILTIN}}


def plugin_config(type_name: str) -> type[ConnectionConfig] | None:
    target = plugin_types().get(type_name)
    return _load(target) if target else None


def known_types() -> list[str]:
    return [*BUILTIN, *plugin_types()]


def open_connection(name: str, config: ConnectionConfig, project_root: Path) -> Connection:
    """The implementation of ``config`` for a run (no I/O yet: secrets are fetched by ``prepare``)."""
    return config.open(name, project_root)
