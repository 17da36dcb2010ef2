"""The project file a command names: a YAML file, or a folder holding ``odibi.yaml`` (default: here)."""

from __future__ import annotations

from pathlib import Path

from odibi.errors import UsageError


def project_file(config: Path | None) -> Path:
    """The project's YAML file, or a :class:`UsageError` saying what was expected."""
    path = Path("odibi.yaml") if config is None else Path(config)
    if path.is_dir():
        path = path / "odibi.yaml"
    if not path.is_file():
        raise UsageError(
            f"no project file at {path}", hint="give the project YAML file (or the folder holding odibi.yaml)"
        )
    return path
