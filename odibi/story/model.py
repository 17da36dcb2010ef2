"""The run record ("story"): what one run did, typed, versioned, and the only thing renderers read.

``run/`` fills a :class:`Story` (``run/story_capture.py`` gathers per-node facts while the engine still
holds the data; ``run/story_build.py`` assembles them after the run) and renderers turn it into JSON,
Markdown or HTML. The record knows no engine. Its JSON Schema (``schemas/story.schema.json``, checked in,
a test fails when stale) is versioned by :data:`STORY_SCHEMA_VERSION`: a change that removes or retypes
a field bumps it; adding an optional field does not.

Values in samples are JSON values (dates as ISO text, decimals and other exact numbers as text, bytes
as a hex preview); secrets are masked and columns marked ``sensitive`` hold ``"***"``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STORY_SCHEMA_VERSION = 1
STORY_SCHEMA_ID = "https://odibi.dev/schemas/story.schema.json"

Status = Literal["success", "failed", "skipped", "not_run"]
Verbosity = Literal["minimal", "normal", "detailed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Column(_Record):
    """One column of a node's output."""

    name: str
    type: str  # odibi's logical type (int, float, decimal, string, bool, date, timestamp, ...)


class Retyped(_Record):
    name: str
    before: str = Field(description="Type in the node's input.")
    after: str = Field(description="Type in the node's output.")


class SchemaChanges(_Record):
    """The node's output against what it read (its inputs' columns, or its source's for a read)."""

    against: list[str] = Field(description="What the output is compared with: input nodes, or 'source'.")
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    retyped: list[Retyped] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.retyped)


class Sample(_Record):
    """The first rows of a node's output (at most ``story.max_sample_rows``)."""

    columns: list[str]
    rows: list[list[Any]]
    masked: list[str] = Field(default_factory=list, description="Columns shown as *** (sensitive).")
    source: Literal["relation", "output"] = Field(
        "relation", description="Taken from the node's relation, or read back from what it wrote."
    )


class CheckOutcome(_Record):
    """One data-quality check of a node's ``validation:``."""

    check: str
    status: Literal["passed", "failed", "warned", "quarantined"]
    failing_rows: int = 0
    message: str = ""
    failing_pct: float | None = Field(
        None, description="Row-level checks: failing rows in percent of those checked."
    )


class FailureInfo(_Record):
    """Why a node failed (the runner's structured failure): the stage it failed in, where in the config."""

    kind: str = Field(description="config | sql | type | data_quality | io | python | engine | ...")
    stage: str = Field(description="read | step N | transform | validation | schema | write | count")
    message: str
    error_type: str = ""
    hint: str | None = None
    location: str | None = Field(None, description="file:line:col of the YAML the stage comes from.")
    retryable: bool = False
    retry_reason: str = ""
    traceback: str | None = None


class WriteInfo(_Record):
    """One output a node wrote (its write, or its quarantine)."""

    target: str = Field(description="Where: a path or URI inside the connection, or connection:table.")
    connection: str | None = None
    format: str | None = None
    mode: str
    rows: int | None = None
    version: int | None = Field(None, description="The Delta table version this write committed.")
    role: Literal["output", "quarantine"] = "output"


class NodeStory(_Record):
    """One node of the run."""

    pipeline: str
    name: str
    status: Status
    action: Literal["run", "recomputed"] = "run"
    lazy: bool = Field(False, description="Fused into its consumers as a view: it ran inside them.")
    inputs: list[str] = Field(default_factory=list, description="Upstream nodes of the same pipeline.")
    source: str | None = Field(None, description="connection:path (or table / query) a read node reads.")
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float = 0.0
    attempts: int = 0
    rows_in: int | None = Field(None, description="Rows read (a read node) or the sum of its inputs' rows.")
    rows_out: int | None = None
    columns: list[Column] = Field(default_factory=list)
    schema_changes: SchemaChanges | None = None
    sql: str | None = Field(None, description="The node's query as run, in the engine's SQL dialect.")
    steps: list[str] = Field(default_factory=list, description="Step by step nodes: what each step was.")
    sample: Sample | None = None
    checks: list[CheckOutcome] = Field(default_factory=list)
    quarantined: int = 0
    writes: list[WriteInfo] = Field(default_factory=list)
    failure: FailureInfo | None = None
    retries: list[FailureInfo] = Field(
        default_factory=list, description="Faults of earlier attempts that were retried."
    )
    notes: list[str] = Field(default_factory=list)
    reason: str | None = Field(None, description="Why a node was skipped or not run.")

    @property
    def key(self) -> str:
        return f"{self.pipeline}.{self.name}"


class Edge(_Record):
    pipeline: str
    source: str = Field(alias="from")
    target: str = Field(alias="to")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NodeDelta(_Record):
    """One node against the same node of the previous run compared with."""

    pipeline: str
    name: str
    change: Literal["changed", "new", "gone"] = "changed"
    status_before: str | None = None
    status_after: str | None = None
    rows_before: int | None = None
    rows_after: int | None = None
    duration_before_s: float | None = None
    duration_after_s: float | None = None
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    retyped: list[Retyped] = Field(default_factory=list)


class Comparison(_Record):
    """This run against another (by default the previous successful run of the same project)."""

    base_run_id: str
    base_started_at: str | None = None
    base_status: str | None = None
    nodes: list[NodeDelta] = Field(
        default_factory=list, description="Nodes that differ; unchanged ones left out."
    )
    unchanged: int = 0
    duration_before_s: float | None = None
    duration_after_s: float | None = None


class Totals(_Record):
    nodes: int = 0
    success: int = 0
    failed: int = 0
    skipped: int = 0
    not_run: int = 0
    rows_written: int = 0
    quarantined: int = 0
    checks_failed: int = 0
    checks_warned: int = 0


class Story(_Record):
    """The record of one run."""

    story_schema: Literal[1] = Field(STORY_SCHEMA_VERSION, description="Version of this record's schema.")
    run_id: str
    project: str
    description: str | None = None
    pipelines: list[str]
    engine: str
    versions: dict[str, str] = Field(description="odibi, python, the engine's library, sqlglot, pyarrow...")
    config_file: str | None = None
    config_hash: str
    started_at: str
    ended_at: str
    duration_s: float
    status: Literal["success", "failed"]
    verbosity: Verbosity
    workers: int = 1
    on_error: str = "continue"
    resumed_from: str | None = None
    error: str | None = Field(None, description="What stopped the run itself, when it did not end normally.")
    notes: list[str] = Field(default_factory=list, description="What a reader should know about this story.")
    totals: Totals
    nodes: list[NodeStory]
    edges: list[Edge] = Field(default_factory=list)
    comparison: Comparison | None = None

    def node(self, key: str) -> NodeStory | None:
        return next((n for n in self.nodes if n.key == key or n.name == key), None)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Story:
        return cls.model_validate_json(text)


def story_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Story` (checked in as ``schemas/story.schema.json``)."""
    schema = Story.model_json_schema(by_alias=True, mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": STORY_SCHEMA_ID,
        "title": f"odibi run story, version {STORY_SCHEMA_VERSION}",
        **schema,
    }
