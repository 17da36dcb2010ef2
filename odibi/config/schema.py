"""The JSON Schema of odibi configs, generated from the pydantic models (draft 2020-12).

The checked-in copy lives at ``schemas/odibi.schema.json`` (a test fails when it is stale); editors use
it for completion through the ``# yaml-language-server: $schema=...`` line.

pydantic writes a discriminated union as ``oneOf`` + OpenAPI's ``discriminator`` keyword, which JSON
Schema validators and editors ignore: the YAML language server then offers the keys of every variant
(``root`` inside a ``type: local`` connection) and reports a failed ``oneOf`` as "Incorrect type". The
generated schema is therefore post-processed (:func:`_editor_friendly`): each such union becomes an
object whose discriminator property is an ``enum`` of the variants' tags, plus one ``if``/``then`` per
tag that applies that variant's definition. Validation is unchanged (the tags are distinct constants);
editors complete the tag's values first and then exactly the keys of the chosen variant.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

SCHEMA_ID = "https://odibi.dev/schemas/odibi.schema.json"


class _Generator(GenerateJsonSchema):
    def _extract_discriminator(self, schema, one_of_choices):  # type: ignore[override]
        # a callable discriminator that names the property it reads (models._connection_tag)
        named = getattr(schema.get("discriminator"), "odibi_discriminator", None)
        return named or super()._extract_discriminator(schema, one_of_choices)

    def generate(self, schema, mode="validation"):  # type: ignore[override]
        out = super().generate(schema, mode=mode)
        out["$schema"] = self.schema_dialect
        out["$id"] = SCHEMA_ID
        return _editor_friendly(out)


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


# --------------------------------------------------------------------------- editor-friendly unions

_DEFS = "#/$defs/"


def _editor_friendly(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite every ``oneOf`` + ``discriminator`` (with a mapping) into an enum tag + ``if``/``then``."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: walk(value) for key, value in node.items()}
        rewritten = _tagged_union(node, defs)
        return rewritten if rewritten is not None else node

    return walk(schema)


def _tagged_union(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    disc = node.get("discriminator")
    alternatives = node.get("oneOf")
    if not isinstance(disc, dict) or not isinstance(alternatives, list):
        return None
    prop, mapping = disc.get("propertyName"), disc.get("mapping")
    if not isinstance(prop, str) or not isinstance(mapping, dict) or not mapping:
        return None
    refs = [alt.get("$ref") if isinstance(alt, dict) and len(alt) == 1 else None for alt in alternatives]
    if None in refs or set(refs) != set(mapping.values()):
        return None  # not the plain shape pydantic writes: leave it alone
    # tags in the order of the union (the order the models declare), not the mapping's alphabetical one
    tags = sorted(mapping, key=lambda tag: refs.index(mapping[tag]))
    names = [mapping[tag].removeprefix(_DEFS) for tag in tags]
    docs = [_first_line(defs.get(name, {}).get("description", "")) for name in names]
    kind = _common_kind(names)
    out = {key: value for key, value in node.items() if key not in ("discriminator", "oneOf")}
    out.setdefault("title", kind)
    out.setdefault("description", f"A {kind.lower()}; `{prop}` selects its kind and keys.")
    out["type"] = "object"
    out["properties"] = {
        prop: {
            "description": f"Kind of {kind.lower()}: {', '.join(tags)}. It decides the other keys.",
            "enum": tags,
            "enumDescriptions": docs,
        }
    }
    out["required"] = [prop]
    out["allOf"] = [
        {
            "if": {"type": "object", "properties": {prop: _exactly(tag)}, "required": [prop]},
            "then": {"$ref": mapping[tag]},
        }
        for tag in tags
    ]
    return out


def _exactly(tag: str) -> dict[str, Any]:
    """``const`` for validators; the anchored ``pattern`` because the YAML language server, while it
    completes, takes a ``const`` the value is a prefix of as a match (``local`` would also select
    ``local_dbfs``)."""
    out: dict[str, Any] = {"const": tag}
    if re.fullmatch(r"[A-Za-z0-9_-]+", tag):
        out["pattern"] = f"^{tag}$"
    return out


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _common_kind(names: list[str]) -> str:
    """The CamelCase word the definition names end with (``LocalConnection`` ... → ``Connection``)."""
    suffix = names[0]
    for name in names[1:]:
        while suffix and not name.endswith(suffix):
            suffix = suffix[1:]
    words = re.findall(r"[A-Z][a-z0-9]*", suffix)
    if words and names[0].endswith("".join(words)):
        return "".join(words) if len(words) == 1 else " ".join(words)
    return "Variant"
