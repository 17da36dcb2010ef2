"""``odibi init``: write a small, runnable starter project from a template.

Each template is a folder of plain files under ``odibi/cli/templates/<name>/`` (shipped as package data):
an ``odibi.yaml`` whose first line points the YAML language server at a copy of the JSON Schema written
beside it (completion and checks work offline), sample CSVs under ``data/`` and, for all but
``quickstart`` (kept as it always was), a README and a ``tests/test_pipeline.py`` that runs the project.
Python files are stored as ``*.py.tmpl`` so that neither pytest nor ruff takes them for odibi's own code.

Existing files are never overwritten unless ``force`` is given, and a refusal writes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from odibi.errors import UsageError

CONFIG_NAME = "odibi.yaml"
SCHEMA_NAME = "odibi.schema.json"
DATA_NAME = "data/sales.csv"
TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "quickstart"
TEMPLATES = {
    "quickstart": "one pipeline: read a CSV, clean it with SQL, write a CSV",
    "medallion": "bronze (raw CSV -> parquet), silver (types, dedupe, quality checks), gold (aggregates)",
    "spark_sql": "SQL written in Spark SQL (sql_dialect: spark), run on DuckDB or --engine spark",
    "star_schema": "customer, product and date dimensions with surrogate keys, and a sales fact",
}
PLACEHOLDER = "{{ project }}"
_SUFFIX = ".tmpl"  # stripped on write


def _project_name(target: Path, name: str | None) -> str:
    if name:
        return name
    base = target.resolve().name
    return re.sub(r"[^A-Za-z0-9 _.-]+", " ", base).strip() or "odibi project"


def _yaml_scalar(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (safe for any project name)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _template_files(template: str) -> list[Path]:
    """The template's files, relative to its folder: odibi.yaml first, then in path order."""
    root = TEMPLATE_DIR / template
    files = [p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files, key=lambda p: (p.as_posix() != CONFIG_NAME, p.as_posix()))


def _render(template: str, target: Path, name: str) -> dict[Path, str]:
    """Output path → text of every file the template writes (the schema right after odibi.yaml)."""
    from odibi.config.schema import schema_text

    files: dict[Path, str] = {}
    for rel in _template_files(template):
        text = (TEMPLATE_DIR / template / rel).read_text(encoding="utf-8")
        out = rel.with_name(rel.name.removesuffix(_SUFFIX))
        value = _yaml_scalar(name) if out.suffix in (".yaml", ".yml") else name
        files[target / out] = text.replace(PLACEHOLDER, value)
        if out.as_posix() == CONFIG_NAME:
            files[target / SCHEMA_NAME] = schema_text()
    return files


def check_template(template: str) -> None:
    """Raise :class:`UsageError` (exit code 2) for a template that does not exist, listing those that do."""
    if template not in TEMPLATES:
        from odibi.config.base import suggest

        near = suggest(template, list(TEMPLATES))
        raise UsageError(
            f"unknown template '{template}'" + (f" (did you mean '{near}'?)" if near else ""),
            hint="templates: " + ", ".join(TEMPLATES),
        )


def init_project(
    target: Path, name: str | None = None, force: bool = False, template: str = DEFAULT_TEMPLATE
) -> list[Path]:
    """Write the ``template`` project into ``target`` (created if missing); return the files written.

    Raises :class:`UsageError` (exit code 2) for an unknown template, when a file would be overwritten
    and ``force`` is false, or when ``target`` exists and is not a folder. Nothing is written then.
    """
    check_template(template)
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UsageError(f"'{target}' exists and is not a folder", hint="give a new or existing folder")
    files = _render(template, target, _project_name(target, name))
    existing = [path for path in files if path.exists()]
    if existing and not force:
        listed = ", ".join(str(path) for path in existing)
        raise UsageError(
            f"not overwriting existing file(s): {listed}",
            hint="use --force to overwrite them, or choose another folder",
        )
    for path in files:  # everything in the way is found before anything is written
        if path.exists() and not path.is_file():
            raise UsageError(f"'{path}' exists and is not a file", hint="remove it or choose another folder")
        for folder in path.relative_to(target).parents[:-1]:
            if (target / folder).exists() and not (target / folder).is_dir():
                raise UsageError(
                    f"'{target / folder}' exists and is not a folder",
                    hint="remove it or choose another folder",
                )
    written = []
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written
