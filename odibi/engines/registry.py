"""Engines by name: built-ins plus plugins from the ``odibi.engines`` entry point group.

Importing this module imports no engine library; an engine's module is imported when it is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points

from odibi.config.models import suggest
from odibi.errors import EngineError, UsageError


@dataclass(frozen=True)
class EngineSpec:
    """How to find an engine, and the SQL dialect it runs (sqlglot's name)."""

    name: str
    dialect: str
    target: str  # "module:Class"
    install_hint: str = ""


BUILTIN: dict[str, EngineSpec] = {
    "duckdb": EngineSpec("duckdb", "duckdb", "odibi.engines.duckdb:DuckDBEngine"),
    "pandas": EngineSpec("pandas", "duckdb", "odibi.engines.pandas:PandasEngine"),
    "spark": EngineSpec("spark", "spark", "odibi.engines.spark:SparkEngine", 'pip install "odibi[spark]"'),
}


_REGISTERED: dict[str, EngineSpec] = {}


def register(name: str, target: str, dialect: str = "duckdb", install_hint: str = "") -> None:
    """Register an engine programmatically ("module:Class"), as an entry point would."""
    _REGISTERED[name] = EngineSpec(name, dialect, target, install_hint)


def available() -> dict[str, EngineSpec]:
    """Built-in engines plus those registered by plugins."""
    specs = {**BUILTIN, **_REGISTERED}
    for ep in entry_points(group="odibi.engines"):
        if ep.name not in specs:
            specs[ep.name] = EngineSpec(ep.name, "duckdb", ep.value)
    return specs


def spec(name: str) -> EngineSpec:
    specs = BUILTIN if name in BUILTIN else available()
    if name not in specs:
        near = suggest(name, list(specs))
        raise UsageError(
            f"unknown engine '{name}'" + (f" (did you mean '{near}'?)" if near else ""),
            hint=f"engines: {', '.join(specs)}",
        )
    return specs[name]


def dialect_of(name: str) -> str:
    """The SQL dialect an engine runs."""
    return spec(name).dialect


def create(name: str, **options):
    """Instantiate engine ``name`` (importing its library now)."""
    s = spec(name)
    module_name, _, cls_name = s.target.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("odibi.engines."):
            raise EngineError(f"engine '{name}' is not available in this version of odibi") from None
        raise EngineError(
            f"engine '{name}' needs the Python package '{exc.name}', which is not installed",
            hint=s.install_hint or f"pip install {exc.name}",
        ) from None
    return getattr(module, cls_name)(**options)
