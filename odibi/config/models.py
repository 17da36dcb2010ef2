"""pydantic v2 models of an odibi project: the single source of truth for the config format.

The JSON Schema in ``schemas/odibi.schema.json`` is generated from these models (``odibi schema``), so
every field carries a description. The shape is ODIBI v1's (see CONFIG.md); extensions are additive.
Unknown keys are errors with a "did you mean" suggestion.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from odibi.config.base import OdibiModel, suggest  # noqa: F401 (suggest is re-exported)
from odibi.config.operations import STEP_MODELS
from odibi.connections.azure_adls import AzureAdlsConnection
from odibi.connections.azure_sql import AzureSqlConnection
from odibi.connections.base import ConnectionConfig
from odibi.connections.gcs import GcsConnection
from odibi.connections.local import LocalConnection
from odibi.connections.local_dbfs import LocalDbfsConnection
from odibi.connections.registry import BUILTIN as _BUILTIN_CONNECTIONS
from odibi.connections.registry import builtin_configs, plugin_config, plugin_types
from odibi.connections.s3 import S3Connection
from odibi.connections.sql import SqlConnection
from odibi.engines.options import DuckDBOptions, PandasOptions, SparkOptions  # noqa: F401 (re-exported)
from odibi.engines.registry import BUILTIN as _ENGINES
from odibi.engines.registry import dialect_of as _dialect_of

# sqlglot's dialect names (a unit test keeps this list equal to sqlglot.Dialects).
SQL_DIALECTS = (
    "athena", "bigquery", "clickhouse", "databricks", "dax", "doris", "dremio", "drill", "druid", "duckdb",
    "dune", "fabric", "hive", "materialize", "mysql", "oracle", "postgres", "presto", "prql", "redshift",
    "risingwave", "snowflake", "solr", "spark", "spark2", "sqlite", "starrocks", "tableau", "teradata",
    "trino", "tsql", "exasol",
)  # fmt: skip


# The built-in engines, as the engine registry lists them (odibi/engines/registry.py): `engine:` is an enum
# of their names (editors complete it from the JSON Schema); a plugin engine is chosen with `--engine`.
EngineName = Enum(  # type: ignore[misc]
    "EngineName", {name: name for name in _ENGINES}, type=str, module=__name__
)


class FileFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"
    json = "json"
    delta = "delta"
    avro = "avro"
    sql = "sql"


class WriteMode(str, Enum):
    overwrite = "overwrite"
    append = "append"
    error = "error"
    ignore = "ignore"
    upsert = "upsert"
    append_once = "append_once"


# --------------------------------------------------------------------------- connections


# Each type's model lives in its module under odibi/connections/ with its implementation; the registry
# lists them (connections/registry.py). A type that is not built in is looked up among the plugins
# (the ``odibi.connections`` entry points) only when a config names it.

__all__ = [
    "AzureAdlsConnection", "AzureSqlConnection", "GcsConnection", "LocalConnection", "LocalDbfsConnection",
    "S3Connection", "SqlConnection",
]  # fmt: skip


def _connection_tag(value: Any) -> str:
    if isinstance(value, ConnectionConfig):
        return value.type if value.type in _BUILTIN_CONNECTIONS else "__plugin__"
    if not isinstance(value, dict):
        return "__plugin__"  # not a mapping: said so by _plugin_connection
    kind = value.get("type")
    if kind is None:
        return "__missing__"
    return kind if isinstance(kind, str) and kind in _BUILTIN_CONNECTIONS else "__plugin__"


_connection_tag.odibi_discriminator = "type"  # type: ignore[attr-defined]  # for the JSON Schema


def _plugin_connection(value: Any) -> ConnectionConfig:
    """A connection of a type that is not built in: validated by its plugin's model."""
    if isinstance(value, ConnectionConfig):
        return value
    if not isinstance(value, dict):
        raise PydanticCustomError("model_type", "Input should be a valid dictionary")
    kind = str(value.get("type"))
    model = plugin_config(kind) if isinstance(value.get("type"), str) else None
    if model is None:
        expected = ", ".join(f"'{t}'" for t in [*_BUILTIN_CONNECTIONS, *plugin_types()])
        raise PydanticCustomError(
            "union_tag_invalid",
            "Input tag '{tag}' found using {discriminator} does not match any of the expected tags: "
            "{expected_tags}",
            {"tag": kind, "discriminator": "'type'", "expected_tags": expected},
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PydanticCustomError(
            "plugin_connection",
            "{type} connection: {msg}",
            {"type": kind, "msg": f"{where}: {first['msg']}" if where else first["msg"]},
        ) from None


def _missing_type(value: Any) -> Any:
    raise PydanticCustomError("union_tag_not_found", "Unable to extract tag using discriminator 'type'")


_CONNECTION_MEMBERS = (
    *(Annotated[m, Tag(m.model_fields["type"].annotation.__args__[0])] for m in builtin_configs()),
    Annotated[SkipJsonSchema[Any], PlainValidator(_plugin_connection), Tag("__plugin__")],
    Annotated[SkipJsonSchema[Any], PlainValidator(_missing_type), Tag("__missing__")],
)
Connection = Annotated[Union[_CONNECTION_MEMBERS], Discriminator(_connection_tag)]  # noqa: UP007

# --------------------------------------------------------------------------- nodes


class IncrementalConfig(OdibiModel):
    """Read only rows past the last successful run's high-water mark (``odibi run --full-refresh``: all)."""

    column: str = Field(description="Column whose largest value read is the mark (a timestamp, date or id).")
    mode: Literal["high_water_mark", "rolling_window"] = Field(
        "high_water_mark",
        description="high_water_mark: rows above the mark; rolling_window: rows from the mark minus lookback.",
    )
    lookback: str | None = Field(
        None,
        description="rolling_window: how far before the mark to read again (3d, 12h, 30m, 2w).",
        examples=["3d"],
    )


class ReadConfig(OdibiModel):
    """Where a node's data comes from."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["path"], "properties": {"path": {"type": "string", "minLength": 1}}},
                {"required": ["table"], "properties": {"table": {"type": "string", "minLength": 1}}},
                {"required": ["query"], "properties": {"query": {"type": "string", "minLength": 1}}},
            ]
        }
    )

    connection: str = Field(description="Name of a connection defined under `connections`.")
    path: str | None = Field(None, description="File or folder path, relative to the connection.")
    table: str | None = Field(None, description="Table name, for SQL connections.")
    query: str | None = Field(None, description="A query to run, for SQL connections.")
    format: FileFormat | None = Field(
        None, description="Data format; inferred from the path's extension when omitted."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Reader options (header, sep, dtype, ...), translated per engine.",
        examples=[{"header": True, "sep": ","}],
    )
    incremental: IncrementalConfig | None = Field(
        None,
        description="Load only what is new since the last successful run.",
        examples=[{"column": "updated_at"}],
    )

    @model_validator(mode="after")
    def _has_source(self) -> ReadConfig:
        if not (self.path or self.table or self.query):
            raise PydanticCustomError("read_source", "read needs one of 'path', 'table' or 'query'")
        return self


class WriteConfig(OdibiModel):
    """Where a node's result goes."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["path"], "properties": {"path": {"type": "string", "minLength": 1}}},
                {"required": ["table"], "properties": {"table": {"type": "string", "minLength": 1}}},
            ]
        }
    )

    connection: str = Field(description="Name of a connection defined under `connections`.")
    path: str | None = Field(None, description="File or folder path, relative to the connection.")
    table: str | None = Field(None, description="Table name, for SQL connections.")
    format: FileFormat | None = Field(None, description="Data format; inferred from the path when omitted.")
    mode: WriteMode = Field(
        WriteMode.overwrite,
        description="overwrite (atomic), append, error (fail if it exists), ignore (skip if it exists).",
    )
    keys: list[str] = Field(default_factory=list, description="Key columns for upsert / append_once.")
    partition_by: list[str] = Field(
        default_factory=list,
        description="Columns to partition a parquet, delta or csv output by: hive-style folders "
        "(col=value/), read back with these columns on every engine; Spark's `partitionBy` in options "
        "means the same.",
        examples=[["country", "day"]],
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Writer options.")

    @model_validator(mode="after")
    def _has_target(self) -> WriteConfig:
        if not (self.path or self.table):
            raise PydanticCustomError("write_target", "write needs 'path' or 'table'")
        return self


class SqlStep(OdibiModel):
    """A SQL step: the previous step's output is the table `df`; earlier nodes are visible by name."""

    sql: str = Field(description="A SELECT statement.", examples=["SELECT * FROM df WHERE amount > 0"])


class SqlFileStep(OdibiModel):
    """A SQL step whose query is in a file: the same as `sql:` with the file's text (variables included)."""

    sql_file: str = Field(
        description="Path of a .sql file holding one SELECT, relative to this config file and inside its "
        "folder. `${...}` references in it are resolved like the YAML's; SQL errors point into the file.",
        examples=["queries/clean.sql"],
    )
    # the file's text, interpolated: set by the loader (config/loader.py), never written by users
    sql: SkipJsonSchema[str | None] = None


class FunctionStep(OdibiModel):
    """A registered Python transform function (`@transform`)."""

    function: str = Field(description="Name of a registered transform function.")
    params: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for the function.")
    pandas_on_spark: bool = Field(
        False,
        description="Let a pandas function run on the spark engine by collecting its input to the driver "
        "(only for data that fits in the driver's memory).",
    )


OperationStep = Annotated[
    Union[tuple(STEP_MODELS.values())],  # noqa: UP007 (a Union built from the registry of operations)
    Field(discriminator="operation"),
]
OPERATION_NAMES = tuple(STEP_MODELS)


def _step_kind(value: Any) -> str | None:
    # tag names differ from the keys so that error locations never mistake a tag for a key
    if isinstance(value, str):
        return "sql-text"
    if isinstance(value, dict):
        for kind in ("sql_file", "sql", "function", "operation"):
            if kind in value:
                return f"{kind}-step"
    if isinstance(value, SqlStep):
        return "sql-step"
    if isinstance(value, SqlFileStep):
        return "sql_file-step"
    if isinstance(value, FunctionStep):
        return "function-step"
    if isinstance(value, tuple(STEP_MODELS.values())):
        return "operation-step"
    return None


Step = Annotated[
    Annotated[str, Tag("sql-text")]
    | Annotated[SqlStep, Tag("sql-step")]
    | Annotated[SqlFileStep, Tag("sql_file-step")]
    | Annotated[FunctionStep, Tag("function-step")]
    | Annotated[OperationStep, Tag("operation-step")],  # type: ignore[valid-type]
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step is a SQL string or a mapping with 'sql', 'sql_file', 'function' or "
        "'operation'",
    ),
]


class TransformConfig(OdibiModel):
    """The transform steps of a node, applied in order."""

    steps: list[Step] = Field(
        default_factory=list, description="Steps; each reads the previous one's output."
    )


class SchemaCheck(OdibiModel):
    """Expected columns and types of a node's result."""

    required_columns: list[str] = Field(default_factory=list, description="Columns that must exist.")
    types: dict[str, str] = Field(
        default_factory=dict,
        description="Column → logical type (int, float, decimal, string, bool, date, timestamp).",
        examples=[{"amount": "float"}],
    )


class RangeCheck(OdibiModel):
    """Bounds of a column's values (NULLs are not checked here: use no_nulls)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["min"], "properties": {"min": {"not": {"type": "null"}}}},
                {"required": ["max"], "properties": {"max": {"not": {"type": "null"}}}},
            ]
        }
    )

    min: Any = Field(None, description="Smallest allowed value.")
    max: Any = Field(None, description="Largest allowed value.")

    @model_validator(mode="after")
    def _a_bound(self) -> RangeCheck:
        if self.min is None and self.max is None:
            raise PydanticCustomError("range_bounds", "a range needs 'min', 'max' or both")
        return self


class RowCountCheck(OdibiModel):
    """Bounds of the number of rows."""

    min: int | None = Field(None, ge=0, description="Fewest rows allowed.")
    max: int | None = Field(None, ge=0, description="Most rows allowed.")


class CheckThreshold(OdibiModel):
    """How many rows may fail before a warn or quarantine outcome fails the node instead (as dbt's
    error_if): a tolerated share of bad rows stays tolerated, a broken feed or a typo in a check does not."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["max_failed"], "properties": {"max_failed": {"not": {"type": "null"}}}},
                {"required": ["max_failed_pct"], "properties": {"max_failed_pct": {"not": {"type": "null"}}}},
            ]
        }
    )

    max_failed: int | None = Field(None, ge=0, description="Most failing rows allowed (more fails the node).")
    max_failed_pct: float | None = Field(
        None, ge=0, le=100, description="Most failing rows allowed, in percent of the rows checked."
    )

    @model_validator(mode="after")
    def _a_limit(self) -> CheckThreshold:
        if self.max_failed is None and self.max_failed_pct is None:
            raise PydanticCustomError("threshold", "a threshold needs 'max_failed', 'max_failed_pct' or both")
        return self


class QuarantineConfig(OdibiModel):
    """Where rows that fail row-level checks go (with the reason) when ``on_fail: quarantine``."""

    connection: str = Field(description="Connection to write the rejected rows to.")
    path: str = Field(description="File path inside the connection.", examples=["quarantine/sales.parquet"])
    format: FileFormat | None = Field(None, description="Format; inferred from the path when omitted.")
    mode: Literal["append", "overwrite"] = Field(
        "append", description="Keep earlier rejects (append) or not."
    )


class ValidationConfig(OdibiModel):
    """Data-quality checks run on a node's result before it is written."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"on_fail": {"const": "quarantine"}}, "required": ["on_fail"]},
            "then": {"required": ["quarantine"], "properties": {"quarantine": {"type": "object"}}},
            "anyOf": [  # thresholds only mean something where failing rows do not fail the node at once
                {"properties": {"max_failed": False, "max_failed_pct": False, "thresholds": False}},
                {"required": ["on_fail"], "properties": {"on_fail": {"enum": ["warn", "quarantine"]}}},
            ],
        }
    )

    not_empty: bool = Field(False, description="Fail when the result has no rows.")
    no_nulls: list[str] = Field(default_factory=list, description="Columns that must hold no NULLs.")
    schema_: SchemaCheck | None = Field(None, alias="schema", description="Required columns and their types.")
    unique: list[str | list[str]] = Field(
        default_factory=list,
        description="Columns (or lists of columns, for a compound key) whose values must not repeat.",
        examples=[["order_id", ["customer_id", "day"]]],
    )
    accepted_values: dict[str, list[Any]] = Field(
        default_factory=dict, description="Column → the values it may hold (NULLs are not checked here)."
    )
    range: dict[str, RangeCheck] = Field(default_factory=dict, description="Column → allowed min / max.")
    regex_match: dict[str, str] = Field(
        default_factory=dict,
        description="Column → a regular expression each non-NULL value must contain (anchor with ^...$).",
    )
    row_count: RowCountCheck | None = Field(None, description="Bounds of the number of rows.")
    custom_sql: dict[str, str] = Field(
        default_factory=dict,
        description="Check name → a SQL condition every row must satisfy (rows where it is false or NULL fail).",
        examples=[{"positive_total": "total > 0"}],
    )
    on_fail: Literal["fail", "warn", "quarantine"] = Field(
        "fail",
        description="fail: the node fails; warn: record and go on; quarantine: rows failing row-level checks "
        "are moved to `quarantine` with the reason, the rest go on (table-level checks still fail).",
    )
    quarantine: QuarantineConfig | None = Field(None, description="Where quarantined rows go.")
    max_failed: int | None = Field(
        None,
        ge=0,
        description="warn / quarantine: the node fails (nothing written) when more rows than this fail its "
        "row-level checks; a row failing several checks counts once.",
    )
    max_failed_pct: float | None = Field(
        None,
        ge=0,
        le=100,
        description="warn / quarantine: the node fails (nothing written) when more than this percent of the "
        "rows checked fail its row-level checks.",
    )
    thresholds: dict[str, CheckThreshold] = Field(
        default_factory=dict,
        description="warn / quarantine: limits per check. Key: a check as the run summary names it "
        "(`no_nulls(email)`, `accepted_values(status)`, `custom_sql(positive_total)`), or a kind "
        "(`no_nulls`) for each check of that kind.",
        examples=[{"accepted_values(status)": {"max_failed_pct": 1}, "no_nulls": {"max_failed": 100}}],
    )

    @model_validator(mode="after")
    def _quarantine_target(self) -> ValidationConfig:
        if self.on_fail == "quarantine" and self.quarantine is None:
            raise PydanticCustomError("quarantine", "on_fail: quarantine needs a 'quarantine' target")
        if self.on_fail == "fail" and (self.thresholds or self.max_failed is not None
                                       or self.max_failed_pct is not None):  # fmt: skip
            raise PydanticCustomError(
                "threshold",
                "max_failed / max_failed_pct / thresholds need on_fail: warn or quarantine "
                "(with on_fail: fail any failing row fails the node)",
            )
        return self

    def row_check_names(self) -> list[str]:
        """The row-level checks, named as results and summaries name them, in the order they run."""
        names = [f"no_nulls({c})" for c in self.no_nulls]
        names += [f"unique({key if isinstance(key, str) else ', '.join(key)})" for key in self.unique]
        names += [f"accepted_values({c})" for c in self.accepted_values]
        names += [f"range({c})" for c in self.range]
        names += [f"regex_match({c})" for c in self.regex_match]
        return names + [f"custom_sql({n})" for n in self.custom_sql]

    def threshold_for(self, check: str) -> CheckThreshold | None:
        """The ``thresholds`` entry of ``check``: its own name first, else its kind."""
        return self.thresholds.get(check) or self.thresholds.get(check.split("(", 1)[0])


class NodeConfig(OdibiModel):
    """One node: read → transform steps → validation → write."""

    name: str = Field(
        description="Unique node name; later SQL refers to the node's result by it.",
        json_schema_extra={"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
    )
    description: str | None = Field(None, description="What the node does.")
    depends_on: list[str] = Field(default_factory=list, description="Nodes that must run first.")
    read: ReadConfig | None = Field(None, description="Where the data comes from.")
    transform: TransformConfig | None = Field(None, description="Transform steps.")
    validation: ValidationConfig | None = Field(None, description="Data-quality checks.")
    write: WriteConfig | None = Field(None, description="Where the result goes.")
    cache: bool = Field(False, description="Hint that the result is reused: odibi may materialize it.")
    retry: RetryConfig | None = Field(None, description="Retries of this node (overrides the project's).")
    on_error: Literal["fail_fast", "continue"] | None = Field(
        None,
        description="When this node fails: fail_fast stops the run (nodes not started are skipped); "
        "continue skips only its downstream. Default: the run's (--on-error, else the project's).",
    )
    sensitive: bool | list[str] = Field(
        False,
        description="Columns whose values stories never show (masked as ***, in this node and in every "
        "node that has a column of that name); true: no sample of this node at all.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise PydanticCustomError(
                "node_name", "node name '{name}' must be letters, digits and _ (usable in SQL)", {"name": v}
            )
        return v


class PipelineConfig(OdibiModel):
    """A pipeline: a DAG of nodes. Pipelines run in list order."""

    model_config = ConfigDict(
        json_schema_extra={
            "not": {"required": ["pipeline", "name"]},  # give the name once (pydantic allows equal twice)
            "anyOf": [
                {"required": ["pipeline"], "properties": {"pipeline": {"type": "string", "minLength": 1}}},
                {"required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}},
            ],
        }
    )

    pipeline: str | None = Field(None, description="Pipeline name.")
    name: str | None = Field(None, description="Alias of `pipeline` (ODIBI v1.1 files).")
    description: str | None = Field(None, description="What the pipeline does.")
    layer: str | None = Field(None, description="Medallion layer (bronze, silver, gold, ...).")
    nodes: list[NodeConfig] = Field(description="The pipeline's nodes.", min_length=1)

    @model_validator(mode="after")
    def _one_name(self) -> PipelineConfig:
        if not (self.pipeline or self.name):
            raise PydanticCustomError("pipeline_name", "a pipeline needs a 'pipeline' name")
        if self.pipeline and self.name and self.pipeline != self.name:
            raise PydanticCustomError("pipeline_name", "give the pipeline's name once ('pipeline' or 'name')")
        self.pipeline = self.pipeline or self.name
        return self


class StoryConfig(OdibiModel):
    """Run reports ("stories")."""

    connection: str | None = Field(
        None,
        description="Connection the stories are written to (default: the project's folder). Without a "
        "story block, stories go to .odibi/stories/ beside the project.",
    )
    path: str = Field("stories/", description="Folder inside the connection (one subfolder per project).")
    max_sample_rows: int = Field(10, ge=0, description="Sample rows kept per node (0: none).")
    auto_generate: bool = Field(True, description="Write a story after every run.")
    verbosity: Literal["minimal", "normal", "detailed"] = Field(
        "normal",
        description="minimal: statuses, timings, schemas, failures, no samples or extra counts; normal: "
        "plus samples and schema changes; detailed: plus a row count of every node (lazy ones too).",
    )
    formats: list[Literal["json", "md", "html"]] = Field(
        default_factory=lambda: ["json", "md", "html"],
        description="Renderings written; the JSON record is always written (the others are made from it).",
    )
    keep_last: int | None = Field(
        None, ge=1, description="Keep only the newest N stories of the project (default: keep all)."
    )


class RetryConfig(OdibiModel):
    """Retries of nodes that hit a transient fault (I/O, network, throttling). Config, SQL, type and
    data-quality errors are never retried: running them again gives the same answer."""

    enabled: bool = Field(True, description="Retry nodes that hit a transient fault.")
    max_attempts: int = Field(3, ge=1, le=100, description="Attempts in all, the first included.")
    backoff: Literal["exponential", "linear", "constant"] = Field(
        "exponential",
        description="Wait before attempt n+1: exponential delay*2^(n-1), linear delay*n, constant delay.",
    )
    delay: float = Field(1.0, ge=0, description="Seconds: the first wait (and the unit of the backoff).")
    max_delay: float = Field(60.0, ge=0, description="Seconds: no wait is longer than this (before jitter).")
    jitter: float = Field(
        1.0,
        ge=0,
        description="Seconds: up to this much is added at random to each wait (runs side by side "
        "do not retry in lock-step).",
    )


class LoggingConfig(OdibiModel):
    """Logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    structured: bool = Field(False, description="JSON log lines.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Extra fields on every log line.")


class SafetyConfig(OdibiModel):
    """Guards that keep a run from destroying, losing or leaking data, and their explicit opt-outs."""

    allow_sql_file_access: bool = Field(
        False,
        description="Let SQL steps call table functions that reach files or the network (DuckDB read_csv, "
        "read_parquet, glob, 'file.csv' in FROM; Spark csv.`path`). Off by default: reads belong in "
        "`read:`, where connections, path containment and lineage apply.",
    )
    write_lock: Literal["wait", "fail"] = Field(
        "wait",
        description="When another run is writing the same target: wait for it (up to write_lock_timeout "
        "seconds), or fail at once.",
    )
    write_lock_timeout: float = Field(
        600, gt=0, description="Seconds to wait for another run's write to the same target."
    )


# Each engine's settings model lives in odibi/engines/options.py (pydantic only), named by its registry entry.
EngineOptions = create_model(  # type: ignore[call-overload]
    "EngineOptions",
    __base__=OdibiModel,
    __doc__="Per-engine settings, so a project moves from a laptop to a cluster by configuration alone.",
    __module__=__name__,
    **{
        name: (spec.options_model() | None, Field(None, description=f"{spec.label} engine settings."))
        for name, spec in _ENGINES.items()
        if spec.options
    },
)


class ProjectConfig(OdibiModel):
    """An odibi project: connections and an ordered list of pipelines."""

    model_config = ConfigDict(title="odibi project")

    project: str = Field(description="Project name.")
    description: str | None = Field(None, description="What the project does.")
    version: str | None = Field(None, description="Project version.")
    owner: str | None = Field(None, description="Owner (team or person).")
    imports: list[str] = Field(
        default_factory=list,
        description="Other YAML files merged into this one (paths relative to this file; they may import "
        "too): their connections, pipelines (run before this file's) and other keys. A name defined in "
        "two files is an error.",
        examples=[["shared/connections.yaml", "pipelines/silver.yaml"]],
    )
    engine: EngineName = Field(EngineName("duckdb"), description="Engine that runs the plan.")  # type: ignore[valid-type]
    sql_dialect: Literal[SQL_DIALECTS] | None = Field(  # type: ignore[valid-type]
        None, description="Dialect the SQL in this file is written in (default: the engine's)."
    )
    engine_options: EngineOptions | None = Field(None, description="Per-engine settings.")  # type: ignore[valid-type]
    vars: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Variables: `${vars.name}` anywhere in this file (and in sql_file files) is replaced by "
        "the value; `odibi validate|compile|run --var name=value` overrides one. A plain scalar that is "
        "exactly `${vars.name}` keeps the value's type.",
        examples=[{"run_date": "${date:yesterday}", "country": "NL"}],
        json_schema_extra={"propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}},
    )
    transform_modules: list[str] = Field(
        default_factory=list,
        description="Python modules (dotted names, or .py files relative to this file) whose @transform "
        "functions the project uses.",
        examples=[["transforms"]],
    )
    connections: dict[str, Connection] = Field(default_factory=dict, description="Named connections.")
    story: StoryConfig | None = Field(None, description="Run reports.")
    retry: RetryConfig | None = Field(None, description="Retries.")
    logging: LoggingConfig | None = Field(None, description="Logging.")
    on_error: Literal["fail_fast", "continue"] = Field(
        "continue",
        description="When a node fails: continue skips only its downstream (ODIBI v1's behaviour); "
        "fail_fast stops the run, and nodes not yet started are skipped.",
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Nodes run at once (independent nodes of a pipeline). Default: the engine's "
        "(duckdb, spark: 4; pandas: 1).",
    )
    safety: SafetyConfig = Field(default_factory=SafetyConfig, description="Data-safety guards and opt-outs.")
    pipelines: list[PipelineConfig] = Field(description="Pipelines, run in list order.", min_length=1)
    environments: dict[str, dict[str, Any] | None] = Field(
        default_factory=dict,
        description="Overlays by environment name, chosen with --env or ODIBI_ENV: each is merged over the "
        "config (mappings key by key; pipelines and nodes matched by name; other values and lists "
        "replaced).",
        json_schema_extra=lambda schema: schema.update(additionalProperties=_overlay_schema()),
    )

    def options_for(self, engine: str) -> dict[str, Any]:
        """The settings of ``engine`` as keyword arguments (unset ones left out)."""
        chosen = getattr(self.engine_options, engine, None) if self.engine_options else None
        return chosen.model_dump(exclude_none=True) if chosen is not None else {}

    def read_dialect(self) -> str:
        """The dialect the config's SQL is written in (DESIGN.md §4)."""
        if self.sql_dialect:
            return str(self.sql_dialect)
        return _dialect_of(getattr(self.engine, "value", self.engine))  # the engine registry's


def _overlay_schema() -> dict[str, Any]:
    """An environment's overlay for editors: the project's top-level keys, each holding the part of the
    config it changes (partial, so not checked against the full models here; odibi checks the result)."""
    keys = {
        name: {"description": f"Changes `{name}`: {field.description}"}
        for name, field in ProjectConfig.model_fields.items()
        if name not in ("imports", "environments", "vars")
    }
    return {
        "type": ["object", "null"],
        "description": "What this environment changes.",
        "properties": keys,
        "additionalProperties": False,
    }
