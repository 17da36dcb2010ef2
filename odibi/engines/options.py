"""The settings of each built-in engine (``engine_options.<engine>`` in a project file).

One model per engine, named by its entry in :data:`odibi.engines.registry.BUILTIN`; the config's
``EngineOptions`` is built from them. A model's fields are the keyword arguments of its engine's class.
Only pydantic here: importing this module (as loading a config does) loads no engine library.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from odibi.config.base import OdibiModel


class DuckDBOptions(OdibiModel):
    """Settings of the DuckDB engine."""

    threads: int | None = Field(None, ge=1, description="Worker threads (default: all cores).")
    memory_limit: str | None = Field(None, description="Memory cap, e.g. '4GB'.", examples=["4GB"])
    config: dict[str, Any] = Field(
        default_factory=dict, description="Other DuckDB settings (SET name = value)."
    )


class PandasOptions(OdibiModel):
    """Settings of the pandas engine."""

    threads: int | None = Field(None, ge=1, description="Threads of the in-process DuckDB that runs SQL.")


class SparkOptions(OdibiModel):
    """Settings of the Spark engine.

    With ``remote`` odibi connects to that Spark Connect server. Otherwise an active session (Databricks,
    a notebook) is reused as it is, and ``master`` / ``conf`` only shape a local session odibi builds.
    """

    master: str | None = Field(
        None, description="Spark master URL (default local[*]).", examples=["local[2]"]
    )
    remote: str | None = Field(
        None, description="Spark Connect URL of a remote cluster.", examples=["sc://host:15002"]
    )
    app_name: str = Field("odibi", description="Spark application name.")
    conf: dict[str, str] = Field(default_factory=dict, description="Spark configuration (spark.* keys).")
