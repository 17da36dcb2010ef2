"""Secrets stay in their field: which config values are secret, and where a secret variable may go.

A *secret field* is a field typed ``SecretStr`` in models.py (a connection's ``password``,
``account_key``, ``url`` of a SQL connection, ...); all of them belong to connections (a unit test keeps
it so). A *secret variable* is an environment variable whose name marks it secret
(:func:`odibi.secrets.is_secret_name`) or that fills a secret field somewhere in the config. A secret
variable interpolated anywhere else (SQL, a path, a description, a key) would be echoed by errors, compiled
SQL and engine messages, so validation refuses it with its location (dbt does the same for its secret
variables outside profiles).
"""

from __future__ import annotations

import typing
from functools import lru_cache
from typing import Any

from pydantic import SecretStr

from odibi import secrets
from odibi.config.loader import Interpolation, SourceMap
from odibi.connections.registry import builtin_configs
from odibi.errors import ConfigError


def _is_secret_annotation(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret_annotation(arg) for arg in typing.get_args(annotation))


@lru_cache(maxsize=1)
def secret_fields() -> dict[str, frozenset[str]]:
    """Connection type → the keys (aliases included) of its SecretStr fields."""
    out: dict[str, frozenset[str]] = {}
    for model in builtin_configs():
        kind = typing.get_args(model.model_fields["type"].annotation)[0]
        keys = set()
        for name, info in model.model_fields.items():
            if _is_secret_annotation(info.annotation):
                keys.add(name)
                if info.alias:
                    keys.add(info.alias)
        out[kind] = frozenset(keys)
    return out


def is_secret_path(data: Any, path: tuple) -> bool:
    """Is ``path`` (keys and indexes into the loaded document) the value of a secret field?"""
    if len(path) != 3 or path[0] != "connections" or not isinstance(data, dict):
        return False
    conns = data.get("connections")
    conn = conns.get(path[1]) if isinstance(conns, dict) else None
    if not isinstance(conn, dict):
        return False
    return path[2] in secret_fields().get(str(conn.get("type")), frozenset())


def register_literal_secrets(data: Any) -> None:
    """Register the value of every secret field of the loaded document (before it is validated, so that
    an error about any other value of the config cannot echo it either)."""
    conns = data.get("connections") if isinstance(data, dict) else None
    if not isinstance(conns, dict):
        return
    fields = secret_fields()
    for conn in conns.values():
        if isinstance(conn, dict):
            for key in fields.get(str(conn.get("type")), ()):
                value = conn.get(key)
                if isinstance(value, str):
                    secrets.register(value)


def placement_errors(data: Any, smap: SourceMap) -> list[ConfigError]:
    """A located error for each secret variable interpolated outside a secret field."""
    uses = smap.interpolations
    if not uses:
        return []
    in_secret_field = {u.name: u for u in uses if not u.key and is_secret_path(data, u.path)}
    errors = []
    for use in uses:
        if not use.key and is_secret_path(data, use.path):
            continue
        named = secrets.is_secret_name(use.name)
        if not named and use.name not in in_secret_field:
            continue
        errors.append(_refusal(use, named, in_secret_field.get(use.name), smap.text_of(use.location.file)))
    return errors


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "the document"


def _refusal(use: Interpolation, named: bool, secret_use: Interpolation | None, text: str) -> ConfigError:
    where = f"a key of {_dotted(use.path)}" if use.key else _dotted(use.path)
    if named:
        why = "its name says so"
        hint = (
            "put it only in a connection's secret field (password, account_key, sas_token, client_secret, "
            f"token, url of a sql connection, ...); if {use.name} holds no secret, rename the variable"
        )
    else:
        assert secret_use is not None
        why = f"it fills the secret field {_dotted(secret_use.path)} at {secret_use.precise(text)}"
        hint = f"use a variable that holds no secret here; {use.name} belongs in secret fields only"
    return ConfigError(
        f"{use.reference} holds a secret ({why}) and may only fill a secret field, not {where}, where "
        "its value would show in SQL, paths, errors and logs",
        location=use.precise(text),
        hint=hint,
    )


def register_model_secrets(config: Any) -> None:
    """Register the value of every SecretStr of a validated config."""
    for conn in getattr(config, "connections", {}).values():
        for name in type(conn).model_fields:
            value = getattr(conn, name, None)
            if isinstance(value, SecretStr):
                secrets.register(value)
