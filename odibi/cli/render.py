"""Render errors for people (file:line:col, a caret snippet, a hint) and for machines (JSON)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from odibi.errors import ConfigErrors, OdibiError
from odibi.secrets import mask, mask_data


@lru_cache(maxsize=16)
def _lines(file: str) -> list[str]:
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def flatten(error: OdibiError) -> list[OdibiError]:
    return list(error.errors) if isinstance(error, ConfigErrors) else [error]


def render_text(error: OdibiError) -> str:
    """Every error as ``file:line:col: kind: message``, the source line with a caret, and a hint.

    Secret values are masked (a source line may hold a literal one)."""
    return mask(_render_text(error))


def _render_text(error: OdibiError) -> str:
    blocks = []
    for err in flatten(error):
        head = f"{err.where()}: " if err.where() else ""
        lines = [f"{head}error: {err.message}"]
        loc = err.location
        if loc is not None:
            src = _lines(loc.file)
            if 0 < loc.line <= len(src):
                text = src[loc.line - 1].replace("\t", " ")
                lines.append(f"  {loc.line:>4} | {text}")
                lines.append("       | " + " " * max(0, loc.col - 1) + "^")
        if loc is not None and (err.node or err.step is not None):
            ctx = [
                f"node '{err.node}'" if err.node else "",
                f"step {err.step + 1}" if err.step is not None else "",
            ]
            lines.append("  in " + ", ".join(c for c in ctx if c))
        if err.hint:
            lines.append(f"  hint: {err.hint}")
        blocks.append("\n".join(lines))
    count = len(blocks)
    if count > 1:
        blocks.append(f"{count} errors")
    return "\n".join(blocks)


def render_json(error: OdibiError | None) -> str:
    items = [] if error is None else [mask_data(e.to_dict()) for e in flatten(error)]
    return mask(json.dumps(items, indent=2))
