"""The base of every config model: unknown keys are errors that name the closest valid key."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError


def suggest(name: str, options: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The closest valid name to ``name``, if one is close enough."""
    matches = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return matches[0] if matches else None


class OdibiModel(BaseModel):
    """Base: forbids unknown keys and names the closest valid key."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, use_enum_values=True, validate_default=True
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = set(cls.model_fields)
            for f in cls.model_fields.values():
                if f.alias:
                    allowed.add(f.alias)
            for key in data:
                if key not in allowed:
                    near = suggest(str(key), sorted(allowed))
                    hint = f" (did you mean '{near}'?)" if near else ""
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'{hint}",
                        {"key": str(key), "hint": hint, "allowed": sorted(allowed)},
                    )
        return data
