"""Python transform functions: ``@transform`` registers a function that a ``function:`` step calls.

Three calling conventions, told apart by the function's signature:

- **ibis**: the first parameter is annotated ``ibis.Table`` (and the function returns one): it gets the
  step's input as an Ibis table and runs on every engine, compiled to SQL (``odibi compile`` prints it);
- **pandas**: the first parameter (any other name or annotation) gets the step's input as a pandas
  DataFrame and returns one; on Spark it runs only with ``pandas_on_spark: true`` (input collected to the
  driver);
- **context** (ODIBI v1): ``func(context, **params)``; ``context.get(name)`` returns a pandas DataFrame
  of an upstream node, or of the step's input with ``context.get("df")``.

Functions come from the modules a project lists in ``transform_modules`` and from the ``odibi.transforms``
entry point group.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from odibi.config.base import suggest
from odibi.errors import ConfigError


@dataclass(frozen=True)
class Transform:
    """A registered function and how to call it."""

    name: str
    func: Callable[..., Any]
    style: str  # "ibis" | "pandas" | "context"
    params: dict[str, inspect.Parameter]  # keyword parameters (after the input / context one)

    @property
    def required(self) -> list[str]:
        return [n for n, p in self.params.items() if p.default is inspect.Parameter.empty]

    def describe(self) -> str:
        parts = []
        for name, p in self.params.items():
            ann = "" if p.annotation is inspect.Parameter.empty else f": {_annotation_name(p.annotation)}"
            default = "" if p.default is inspect.Parameter.empty else f" = {p.default!r}"
            parts.append(f"{name}{ann}{default}")
        return f"{self.name}({', '.join(parts)})  [{self.style}]"


_REGISTRY: dict[str, Transform] = {}


def _annotation_name(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))


def _style(func: Callable[..., Any]) -> tuple[str, dict[str, inspect.Parameter]]:
    sig = inspect.signature(func)
    positional = [
        p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not positional:
        raise TypeError(f"transform '{func.__name__}' needs a first parameter (its input or the context)")
    first = positional[0]
    rest = {
        name: p
        for name, p in sig.parameters.items()
        if name != first.name and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    ann = _annotation_name(first.annotation) if first.annotation is not inspect.Parameter.empty else ""
    if first.name == "context" or ann.endswith("TransformContext"):
        return "context", rest
    if ann in ("ibis.Table", "Table", "ibis.expr.types.Table", "ir.Table") or ann.endswith("relations.Table"):
        return "ibis", rest
    return "pandas", rest


def transform(func: Callable[..., Any] | None = None, *, name: str | None = None):
    """Register a transform function under its name (or ``name``): ``@transform`` or ``@transform(name=...)``."""

    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        style, params = _style(f)
        key = name or f.__name__
        _REGISTRY[key] = Transform(key, f, style, params)
        return f

    return register(func) if func is not None else register


def registered() -> dict[str, Transform]:
    """Every registered transform (loading entry point plugins once)."""
    _load_entry_points()
    return dict(_REGISTRY)


_ENTRY_POINTS_LOADED = False


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in entry_points(group="odibi.transforms"):
        obj = ep.load()
        if callable(obj) and ep.name not in _REGISTRY:
            transform(obj, name=ep.name)


def load_modules(modules: list[str], root: Path, locate: Callable[[int], Any]) -> None:
    """Import the project's transform modules (dotted names, or .py files relative to ``root``)."""
    for i, module in enumerate(modules):
        try:
            if module.endswith(".py") or "/" in module:
                path = (root / module).resolve()
                spec = importlib.util.spec_from_file_location(f"odibi_user_{path.stem}", path)
                if spec is None or spec.loader is None or not path.exists():
                    raise ModuleNotFoundError(f"no file {path}")
                mod = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = mod
                spec.loader.exec_module(mod)
            else:
                if str(root) not in sys.path:
                    sys.path.insert(0, str(root))
                importlib.import_module(module)
        except Exception as exc:  # the user's module failed to import: say which and why
            raise ConfigError(
                f"cannot import transform module '{module}': {type(exc).__name__}: {exc}",
                location=locate(i),
                hint="modules are dotted names importable from the config's folder, or .py paths",
            ) from None


def lookup(name: str) -> Transform | None:
    return registered().get(name)


def unknown_message(name: str) -> tuple[str, str | None]:
    names = sorted(registered())
    near = suggest(name, names)
    message = f"unknown transform function '{name}'" + (f" (did you mean '{near}'?)" if near else "")
    hint = f"registered: {', '.join(names)}" if names else "register it with @odibi.transforms.transform"
    return message, hint


class TransformContext:
    """ODIBI v1's context: ``get(name)`` returns a node's result (or the step input, "df") as pandas."""

    def __init__(self, getter: Callable[[str], Any], names: list[str]) -> None:
        self._get = getter
        self._names = names

    def get(self, name: str):
        if name not in self._names:
            near = suggest(name, self._names)
            raise KeyError(
                f"context has no '{name}'"
                + (f" (did you mean '{near}'?)" if near else "")
                + f"; available: {', '.join(self._names)}"
            )
        return self._get(name)

    def names(self) -> list[str]:
        return list(self._names)
