"""``odibi config show``: the effective config, i.e. what odibi runs once imports and an environment apply.

A project split over files with per-environment overlays is hard to read in one's head; this prints the
one document odibi validates (secret fields and secret values masked) so a user can check it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

config_app = typer.Typer(
    name="config",
    help="The project's config as odibi sees it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@config_app.command("show")
def show(
    config: Annotated[
        Path | None,
        typer.Argument(
            help="The project's YAML file (or its folder; default: odibi.yaml here).", show_default=False
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option("--env", help="Apply this overlay of the config's environments: (default: $ODIBI_ENV)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="yaml | json")] = "yaml",
) -> None:
    """Print the effective config: imports merged, the environment's overlay applied, secrets masked.

    \b
    Examples:
      odibi config show
      odibi config show odibi.yaml --env prod --format json
    """
    from odibi.cli.app import _fail, _guard, _usage

    if fmt not in ("yaml", "json"):
        _fail(_usage(f"unknown --format '{fmt}' (yaml, json)"))
    typer.echo(
        _guard(lambda: effective_text(config, env, fmt), "json" if fmt == "json" else "text"), nl=False
    )


def effective_text(config: Path | None, environment: str | None, fmt: str) -> str:
    """The effective config of ``config`` as YAML or JSON text, masked."""
    from odibi.cli.project_file import project_file
    from odibi.config.project import load_effective
    from odibi.secrets import mask

    path = project_file(config)
    project, data = load_effective(path, environment=environment)
    data = _in_model_order(masked_secret_fields(data))
    if fmt == "json":
        import json

        return mask(json.dumps(data, indent=2, default=str)) + "\n"
    import yaml

    files = [project.file, *project.source.texts]
    head = f"# effective config of {', '.join(files)}"
    chosen = environment or _from_env()
    head += f" (environment: {chosen})" if chosen else ""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)
    return mask(f"{head}\n{body}")


def _in_model_order(data: dict) -> dict:
    """Top-level keys in the order the project model declares them (files merge in import order)."""
    from odibi.config.models import ProjectConfig

    order = {name: i for i, name in enumerate(ProjectConfig.model_fields)}
    return dict(sorted(data.items(), key=lambda item: order.get(item[0], len(order))))


def _from_env() -> str | None:
    import os

    from odibi.config.compose import ENV_VAR

    return os.environ.get(ENV_VAR) or None


def masked_secret_fields(data: Any) -> Any:
    """``data`` with the value of every secret field (a connection's password, key, ...) replaced by ***
    (values too short to be masked in text are hidden this way too)."""
    from odibi.config.secret_fields import secret_fields
    from odibi.secrets import MASK

    conns = data.get("connections") if isinstance(data, dict) else None
    if not isinstance(conns, dict):
        return data
    fields = secret_fields()
    out = {}
    for name, conn in conns.items():
        if isinstance(conn, dict):
            secret = fields.get(str(conn.get("type")), frozenset())
            conn = {k: (MASK if k in secret and v is not None else v) for k, v in conn.items()}
        out[name] = conn
    return {**data, "connections": out}
