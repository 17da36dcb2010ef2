"""Recover from schema errors, so that one `odibi validate` run reports every independent mistake.

When the pydantic model refuses a document, its errors are kept and the parts they are in are
neutralised in a copy of the document: a node becomes a placeholder holding only its name (so nodes
that depend on it find it, and learn no columns from it), a connection is left out (and remembered, so a
node using it is not told the connection is unknown), a pipeline-level or top-level key is dropped. The
copy is validated again; what it still refuses outside the neutralised parts is reported too (e.g. a
pipeline's own checks, which pydantic runs only once all its nodes are valid). Every list keeps its
length, so the source map's paths, and the locations of later errors, stay right.

What was neutralised is recorded in a :class:`Damage`, which semantics, plan and compile consult to stay
silent about it: an error that makes later checks meaningless stops them for its part only.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import ValidationError

from odibi.config.loader import SourceMap
from odibi.config.models import ProjectConfig, suggest
from odibi.config.project import Damage, _data_path, _locate, _value_at
from odibi.errors import ConfigError

_ROUNDS = 6  # each round neutralises what the previous one revealed (a mapping's unknown key hides its
# contents); real documents need one to three
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER_NODE = "_odibi_invalid"


def revalidate(
    data: Any, exc: ValidationError, smap: SourceMap
) -> tuple[ProjectConfig | None, Damage, list[ConfigError]]:
    """The config left once the parts ``exc`` (the document's own errors) points at are neutralised,
    the damage done, and errors found later outside the neutralised parts. None: nothing to check."""
    doc = copy.deepcopy(data)
    damage = Damage()
    touched: list[tuple] = []
    misspelt: set[tuple] = set()  # mappings that had an unknown key: what they then miss follows from it
    later: list[ConfigError] = []
    for round_ in range(_ROUNDS):
        before = list(touched)
        for err in _with_every_unknown_key(exc.errors(include_url=False, include_input=False), doc):
            path, _ = _data_path(tuple(err["loc"]), doc)
            new = (round_ or err.get("extra")) and not any(path[: len(t)] == t for t in before)
            if new and not (round_ and path in misspelt):
                later.append(_locate(err, doc, smap))
            if err["type"] == "unknown_key":
                misspelt.add(path)
                path = (*path, err["ctx"]["key"])  # the key itself is what is neutralised
            unit = _neutralise(doc, path, err, damage)
            if unit is None:
                return None, damage, later
            touched.append(unit)
        try:
            return ProjectConfig.model_validate(doc), damage, later
        except ValidationError as again:
            exc = again
    return None, damage, later


def _with_every_unknown_key(errors: list[dict], doc: Any) -> list[dict]:
    """``errors``, plus an error for each other unknown key of a mapping that has one: the models
    report the first unknown key of a mapping only (config/base.py)."""
    out = []
    for err in errors:
        out.append(err)
        if err["type"] != "unknown_key":
            continue
        path, _ = _data_path(tuple(err["loc"]), doc)
        mapping = _value_at(doc, path)
        allowed = err["ctx"].get("allowed", [])
        for key in mapping if isinstance(mapping, dict) else ():
            if key not in allowed and key != err["ctx"]["key"]:
                near = suggest(str(key), allowed)
                hint = f" (did you mean '{near}'?)" if near else ""
                ctx = {"key": str(key), "hint": hint, "allowed": allowed}
                out.append({**err, "msg": f"unknown key '{key}'{hint}", "ctx": ctx, "extra": True})
    return out


def _neutralise(doc: dict, path: tuple, err: dict, damage: Damage) -> tuple | None:
    """Neutralise the part of ``doc`` that holds the error at ``path``; returns that part's path, or
    None when the error is in what every check needs (the list of pipelines)."""
    if not path:
        loc = tuple(err["loc"])
        if loc == ("project",):  # no project name: nothing else depends on it
            doc["project"] = "_"
            return ("project",)
        return None
    top = path[0]
    if top == "pipelines":
        return _neutralise_pipeline(doc, path, damage)
    if top == "connections":
        if len(path) == 1 or not isinstance(doc["connections"], dict):
            doc["connections"] = {}
            damage.all_connections = True
            return path[:1]
        doc["connections"].pop(path[1], None)
        damage.connections.add(str(path[1]))
        return path[:2]
    if top in ("engine", "sql_dialect"):
        damage.dialect = True  # the SQL's dialect is unknown: no SQL is checked
    if top == "project":
        doc["project"] = "_"
    elif top == "safety":  # the opt-outs are unknown: assume them, rather than report what they allow
        doc["safety"] = {"allow_sql_file_access": True}
    else:
        doc.pop(top, None)
    return path[:1]


def _neutralise_pipeline(doc: dict, path: tuple, damage: Damage) -> tuple | None:
    if len(path) == 1:
        return None  # `pipelines:` is not a list
    pi = path[1]
    pipe = doc["pipelines"][pi]
    if len(path) >= 4 and path[2] == "nodes" and isinstance(path[3], int):
        ni = path[3]
        raw = pipe["nodes"][ni].get("name") if isinstance(pipe["nodes"][ni], dict) else None
        if isinstance(raw, str) and _IDENTIFIER.fullmatch(raw):
            name = raw
        else:
            name = f"{_PLACEHOLDER_NODE}_{ni}"
            damage.placeholders.setdefault(pi, set()).add(name)
            if isinstance(raw, str):
                damage.node_names.setdefault(pi, set()).add(raw)
        pipe["nodes"][ni] = {"name": name}
        damage.nodes.add((pi, ni))
        return path[:4]
    if len(path) >= 3 and path[2] not in ("nodes", "pipeline", "name"):
        pipe.pop(path[2], None)  # a description, a layer, a misspelt key
        return path[:3]
    # the pipeline's name or its list of nodes: the pipeline is left out of every check
    raw = (pipe.get("pipeline") or pipe.get("name")) if isinstance(pipe, dict) else None
    name = raw if isinstance(raw, str) and raw else f"_odibi_invalid_{pi}"
    doc["pipelines"][pi] = {"pipeline": name, "nodes": [{"name": _PLACEHOLDER_NODE}]}
    damage.pipelines.add(pi)
    return path[:2]
