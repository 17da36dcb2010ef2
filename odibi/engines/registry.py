"""Engines by name: built-ins plus plugins from the ``odibi.engines`` entry point group.

An engine is one module whose class implements :class:`odibi.engines.base.Engine`, plus one line in
:data:`BUILTIN` holding what the config needs to know before any engine library is imported: the SQL
dialect the engine runs (sqlglot's name), the model of its ``engine_options`` block (in the light
:mod:`odibi.engines.options`) and how to install it. The config's ``engine`` enum, its ``EngineOptions``
and ``ProjectConfig.read_dialect()`` are built from this table (odibi/config/models.py).

A plugin names its class in an entry point (``my_engine = "my_pkg.engine:MyEngine"``) or calls
:func:`register`. Its dialect is the class's own ``dialect`` attribute, read (importing the plugin's
module) only when something asks for it, unless :func:`register` is given one. A project file's
``engine:`` names a built-in engine; ``--engine`` on the command line may name a plugin.

Importing this module imports no engine library; an engine's module is imported when it is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from odibi.config.base import suggest
from odibi.errors import EngineError, UsageError


@dataclass(frozen=True)
class EngineSpec:
    """How to find an engine, the SQL dialect it runs and the model of its settings."""

    name: str
    target: str  # "module:Class"
    declared_dialect: str | None = None  # sqlglot's name; None: the class's ``dialect`` (plugins)
    install_hint: str = ""
    options: str | None = None  # "module:Model" of its ``engine_options`` block (a light module)
    label: str = ""  # the engine's name in prose ("DuckDB")

    @property
    def dialect(self) -> str:
        """The SQL dialect the engine runs (a plugin's is read from its class, importing its module)."""
        return self.declared_dialect or _class_dialect(self)

    def options_model(self) -> Any:
        """The pydantic model of ``engine_options.<name>``, or None when the engine takes no settings."""
        if not self.options:
            return None
        module, _, name = self.options.partition(":")
        return getattr(import_module(module), name)


BUILTIN: dict[str, EngineSpec] = {
    "duckdb": EngineSpec(
        "duckdb", "odibi.engines.duckdb:DuckDBEngine", "duckdb",
        options="odibi.engines.options:DuckDBOptions", label="DuckDB",
    ),
    "pandas": EngineSpec(
        "pandas", "odibi.engines.pandas:PandasEngine", "duckdb",
        options="odibi.engines.options:PandasOptions", label="pandas",
    ),
    "spark": EngineSpec(
        "spark", "odibi.engines.spark:SparkEngine", "spark", 'pip install "odibi[spark]"',
        options="odibi.engines.options:SparkOptions", label="Spark",
    ),
}  # fmt: skip


_REGISTERED: dict[str, EngineSpec] = {}
_DIALECTS: dict[tuple[str, str], str] = {}  # (name, target) → dialect read from a plugin's class


def register(name: str, target: str, dialect: str | None = None, install_hint: str = "") -> None:
    """Register an engine programmatically ("module:Class"), as an entry point would.

    ``dialect`` (sqlglot's name) spares importing the module to read the class's ``dialect``.
    """
    _REGISTERED[name] = EngineSpec(name, target, dialect, install_hint)


def available() -> dict[str, EngineSpec]:
    """Built-in engines plus those registered by plugins."""
    specs = {**BUILTIN, **_REGISTERED}
    for ep in entry_points(group="odibi.engines"):
        if ep.name not in specs:
            specs[ep.name] = EngineSpec(ep.name, ep.value)
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
    """The SQL dialect an engine runs (for a plugin declaring it on its class, its module is imported)."""
    return spec(name).dialect


def _engine_class(s: EngineSpec) -> Any:
    module_name, _, cls_name = s.target.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("odibi.engines."):
            raise EngineError(f"engine '{s.name}' is not available in this version of odibi") from None
        raise EngineError(
            f"engine '{s.name}' needs the Python package '{exc.name}', which is not installed",
            hint=s.install_hint or f"pip install {exc.name}",
        ) from None
    return getattr(module, cls_name)


def _class_dialect(s: EngineSpec) -> str:
    key = (s.name, s.target)
    if key not in _DIALECTS:
        dialect = getattr(_engine_class(s), "dialect", None)
        if not isinstance(dialect, str) or not dialect:
            raise EngineError(
                f"engine '{s.name}' ({s.target}) declares no SQL dialect",
                hint="give the engine class a `dialect` attribute: sqlglot's name of the SQL it runs "
                '(e.g. dialect = "duckdb")',
            )
        _DIALECTS[key] = dialect
    return _DIALECTS[key]


def create(name: str, **options):
    """Instantiate engine ``name`` (importing its library now)."""
    return _engine_class(spec(name))(**options)
