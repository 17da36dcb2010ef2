"""``odibi list operations | transforms | engines``: what a project can use, with parameters."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def _type_name(annotation) -> str:
    text = str(annotation).replace("typing.", "")
    return text.removeprefix("<class '").removesuffix("'>")


def list_operations(console: Console) -> None:
    from odibi.config.operations import PARAMS

    table = Table(title="operations (operation: NAME, params: {...})", title_justify="left")
    table.add_column("operation", no_wrap=True)
    table.add_column("what it does")
    table.add_column("params", overflow="fold")
    for name, model in PARAMS.items():
        params = []
        for field_name, field in model.model_fields.items():
            required = (
                ""
                if field.is_required()
                else f" = {field.default!r}"
                if field.default is not None
                else " = null"
            )
            params.append(f"{field_name}: {_type_name(field.annotation)}{required}")
        table.add_row(name, (model.__doc__ or "").strip().splitlines()[0], "\n".join(params))
    console.print(table)


def list_transforms(console: Console, config: Path | None) -> None:
    from odibi import transforms

    if config is not None:
        from odibi.config.project import load_project

        project = load_project(config)
        transforms.load_modules(
            project.config.transform_modules,
            project.root,
            lambda i: project.source.locate(("transform_modules", i)),
        )
    found = transforms.registered()
    table = Table(title="transform functions (function: NAME, params: {...})", title_justify="left")
    table.add_column("function", no_wrap=True)
    table.add_column("style", no_wrap=True)
    table.add_column("signature", overflow="fold")
    table.add_column("doc", overflow="fold")
    for name, t in sorted(found.items()):
        doc = (t.func.__doc__ or "").strip().splitlines()
        table.add_row(name, t.style, t.describe(), doc[0] if doc else "")
    console.print(table)
    if not found:
        console.print(
            "no transform functions registered (give the project file to load its transform_modules)"
        )


def list_engines(console: Console) -> None:
    from odibi.engines.registry import available

    table = Table(title="engines", title_justify="left")
    table.add_column("engine")
    table.add_column("SQL dialect")
    table.add_column("implementation")
    for spec in available().values():
        table.add_row(spec.name, spec.dialect, spec.target)
    console.print(table)
