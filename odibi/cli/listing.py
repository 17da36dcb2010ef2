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
            if field.is_required():
                required = " (required)"
            elif field.default_factory is not None:
                required = f" = {field.default_factory()!r}"  # type: ignore[call-arg]
            else:
                required = f" = {field.default!r}" if field.default is not None else " = null"
            params.append(f"{field_name}: {_type_name(field.annotation)}{required}")
        table.add_row(name, (model.__doc__ or "").strip().splitlines()[0], "\n".join(params))
    console.print(table)


def list_transforms(console: Console, config: Path | None) -> None:
    from odibi import transforms

    if config is not None:
        from odibi.api import load_transforms
        from odibi.config.project import load_project

        load_transforms(load_project(config))  # transform_modules, or transforms.py beside the config
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
            "no transform functions registered (give the project file to load its transform_modules "
            "or the transforms.py beside it)"
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
