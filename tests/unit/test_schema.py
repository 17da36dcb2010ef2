"""The JSON Schema: generated from the models, checked in, and in agreement with odibi's own loader."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import sqlglot

from odibi.config.loader import load_file
from odibi.config.models import SQL_DIALECTS
from odibi.config.schema import project_schema, schema_errors, schema_text

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_schema_is_fresh():
    checked_in = (ROOT / "schemas" / "odibi.schema.json").read_text(encoding="utf-8")
    assert checked_in == schema_text(), "run: odibi schema -o schemas/odibi.schema.json"


def test_schema_is_valid_draft_2020_12_with_descriptions():
    schema = project_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    missing = []
    for name, definition in schema.get("$defs", {}).items():
        for field, prop in definition.get("properties", {}).items():
            if "description" not in prop:
                missing.append(f"{name}.{field}")
    for field, prop in schema["properties"].items():
        if "description" not in prop:
            missing.append(f"ProjectConfig.{field}")
    assert missing == []


def test_engine_and_mode_are_enums():
    text = json.dumps(project_schema())
    assert '"duckdb"' in text and '"overwrite"' in text and '"azure_adls"' in text


def test_dialect_list_matches_sqlglot():
    assert set(SQL_DIALECTS) == {d.value for d in sqlglot.Dialects if d.value}


EXAMPLES = sorted((ROOT / "examples").glob("*/odibi.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_examples_are_valid_for_editors_too(path):
    data, _ = load_file(path, env={})
    assert schema_errors(data) == []
