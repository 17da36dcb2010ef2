"""odibi: declarative YAML data pipelines that run the same on DuckDB, Pandas and Spark.

The public API is re-exported lazily (PEP 562) so that ``import odibi`` stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.4.0"

_API = {"load_project", "validate", "compile_project", "run_project"}


def __getattr__(name: str) -> Any:
    if name == "transform":
        from odibi.transforms import transform

        return transform
    if name in _API:
        from odibi import api

        return getattr(api, name)
    raise AttributeError(f"module 'odibi' has no attribute {name!r}")


__all__ = ["__version__", "transform", *sorted(_API)]
