"""The JSON Schema of odibi configs, generated from the pydantic models (draft 2020-12).

The checked-in copy lives at ``schemas/odibi.schema.json`` (a test fails when it is stale); editors use
it for completion through the ``# yaml-language-server: $schema=...`` line.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

SCHEMA_ID = "https://odibi.dev/schemas/odibi.schema.json"


class _Generator(GenerateJsonSchema):
    def generate(self, schema, mode="validation"):  # type: ignore[override]
        out = super().generate(schema, mode=mode)
        out["$schema"] = self.schema_dialect
        out["$id"] = SCHEMA_ID
        return out


def project_schema() -> dict[str, Any]:
    """The JSON Schema for a whole project file."""
    from odibi.config.models import ProjectConfig

    return ProjectConfig.model_json_schema(schema_generator=_Generator, mode="validation")


def schema_text() -> str:
    return json.dumps(project_schema(), indent=2, sort_keys=False) + "\n"


def schema_errors(data: Any) -> list[str]:
    """Messages of every JSON Schema violation of ``data`` (used to prove editors and odibi agree)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(project_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
