"""Assemble a run's story from its node results, and write it through the story store.

The runner calls :func:`write_story` once every node has ended (or the run stopped), before it closes
its connections: it builds the typed record (``story/model.py``), masks what must not be shown (secrets,
columns marked ``sensitive``), compares it with the project's previous successful story, renders it
and commits the files. A story that cannot be written is reported, never turned into a failed run.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib import metadata
from typing import TYPE_CHECKING, Any

from odibi.secrets import mask, mask_data
from odibi.story.model import (
    CheckOutcome,
    Column,
    Edge,
    FailureInfo,
    NodeStory,
    Retyped,
    Sample,
    SchemaChanges,
    Story,
    Totals,
    WriteInfo,
)

if TYPE_CHECKING:
    from odibi.compile.node import CompiledNode
    from odibi.config.project import Project
    from odibi.run.runner import NodeResult

MASK = "***"
# the libraries whose versions explain an engine's behaviour
_LIBRARIES = {"duckdb": ("duckdb",), "pandas": ("pandas", "duckdb"), "spark": ("pyspark",)}


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return (
        datetime.fromtimestamp(epoch, tz=timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def versions(engine: str) -> dict[str, str]:
    """Versions of Python, odibi and the libraries the engine ran on: a loaded module's ``__version__``
    (free), else the installed distribution's (a scan of site-packages, ~1 ms each); once per process."""
    known = _VERSIONS.get(engine)
    if known is None:
        known = _VERSIONS[engine] = _versions(engine)
    return dict(known)


_VERSIONS: dict[str, dict[str, str]] = {}


def _versions(engine: str) -> dict[str, str]:
    import sys

    out = {"python": platform.python_version()}
    for dist in ("odibi", *_LIBRARIES.get(engine, ()), "sqlglot", "pyarrow"):
        loaded = getattr(sys.modules.get(dist), "__version__", None)
        if isinstance(loaded, str):
            out[dist] = loaded
            continue
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def sensitive_names(project: Project, results: list[NodeResult]) -> set[str]:
    """Column names (lower case) whose values no story shows: every name a node lists under
    ``sensitive:``, and every column of a node marked ``sensitive: true``."""
    names: set[str] = set()
    flagged: set[tuple[str, str]] = set()
    for pipeline in project.config.pipelines:
        pipe = pipeline.pipeline or pipeline.name
        for node in pipeline.nodes:
            if isinstance(node.sensitive, list):
                names.update(c.lower() for c in node.sensitive)
            elif node.sensitive is True:
                flagged.add((str(pipe), node.name))
    for result in results:
        if (result.pipeline, result.node) in flagged:
            names.update(c.lower() for c in result.columns)
    return names


def build_story(
    project: Project,
    *,
    run_id: str,
    engine: str,
    planned: list[tuple[str, str]],
    results: list[NodeResult],
    compiled: dict[tuple[str, str], CompiledNode],
    started_at: float,
    ended_at: float,
    duration_s: float,
    verbosity: str,
    workers: int,
    on_error: str,
    resumed_from: str | None,
    error: str | None,
    unsampled: list[str] | None = None,
) -> Story:
    """The typed record of a run (masked: secrets and sensitive columns)."""
    from odibi.run.node_exec import inputs as inputs_of
    from odibi.run.runner import config_hash

    cfg = project.config
    by_key = {(r.pipeline, r.node): r for r in results}
    hidden = sensitive_names(project, results)
    nodes: list[NodeStory] = []
    edges: list[Edge] = []
    for key in planned:
        node = compiled.get(key)
        result = by_key.get(key)
        ins = inputs_of(node) if node is not None else []
        edges.extend(
            Edge(pipeline=key[0], source=dep, target=key[1]) for dep in ins if (key[0], dep) in compiled
        )
        if result is None:
            why = "the run stopped before this node ended" + (f" ({error})" if error else "")
            nodes.append(NodeStory(pipeline=key[0], name=key[1], status="not_run", inputs=ins, reason=why))
            continue
        nodes.append(_node(result, node, ins, by_key, hidden, verbosity))
    ok = len(results) == len(planned) and all(r.status == "success" for r in results) and error is None
    story = Story(
        run_id=run_id,
        project=cfg.project,
        description=cfg.description,
        pipelines=list(dict.fromkeys(p for p, _ in planned)),
        engine=engine,
        versions=versions(engine),
        config_file=project.file,
        config_hash=config_hash(project),
        started_at=iso(started_at) or "",
        ended_at=iso(ended_at) or "",
        duration_s=round(duration_s, 4),
        status="success" if ok else "failed",
        verbosity=verbosity,  # type: ignore[arg-type]
        workers=workers,
        on_error=on_error,
        resumed_from=resumed_from,
        error=mask(error) if error else None,
        notes=_notes(engine, unsampled or [], verbosity),
        totals=_totals(nodes),
        nodes=nodes,
        edges=edges,
    )
    return story


def _node(
    result: NodeResult, node: CompiledNode | None, ins: list[str], by_key, hidden, verbosity
) -> NodeStory:
    cfg = node.config if node is not None else None
    columns = [Column(name=c, type=t) for c, t in result.columns.items()]
    rows_in = result.rows_read
    if rows_in is None and cfg is not None and cfg.read is not None and not ins:
        rows_in = result.rows if result.source_columns is None else None
    if rows_in is None and ins:
        upstream = [by_key.get((result.pipeline, d)) for d in ins]
        known = [u.rows for u in upstream if u is not None and u.rows is not None]
        rows_in = sum(known) if len(known) == len(ins) else None
    failure = FailureInfo(**_failure_fields(result.failure)) if result.failure else None
    return NodeStory(
        pipeline=result.pipeline,
        name=result.node,
        status=result.status,  # type: ignore[arg-type]
        action=result.action,  # type: ignore[arg-type]
        lazy=result.lazy,
        inputs=ins,
        source=_source(cfg),
        started_at=iso(result.started_at),
        ended_at=iso(result.ended_at),
        duration_s=round(result.duration_s, 4),
        attempts=result.attempts,
        rows_in=rows_in,
        rows_out=result.rows,
        columns=columns,
        schema_changes=None
        if verbosity == "minimal" or result.status != "success"
        else _changes(result, ins, by_key),
        sql=mask(result.sql) if result.sql else None,
        steps=[mask(s) for s in result.steps],
        sample=_sample(result, hidden),
        checks=[CheckOutcome(**_check_fields(c)) for c in result.check_results],
        quarantined=result.quarantined,
        writes=_writes(result, cfg),
        failure=failure,
        retries=[FailureInfo(**_failure_fields(f)) for f in result.retries],
        notes=[mask(n) for n in result.notes],
        reason=mask(result.error) if result.error and result.status in ("skipped", "not_run") else None,
    )


def _notes(engine: str, unsampled: list[str], verbosity: str) -> list[str]:
    if not unsampled:
        return []
    shown = ", ".join(unsampled[:8]) + (f" and {len(unsampled) - 8} more" if len(unsampled) > 8 else "")
    return [
        f"no sample of {len(unsampled)} node(s) ({shown}): on {engine} a sample of a node that wrote no "
        f"local file costs an engine job, so it is taken at story verbosity 'detailed' (this run: "
        f"'{verbosity}')"
    ]


def _failure_fields(failure: dict[str, Any]) -> dict[str, Any]:
    keep = FailureInfo.model_fields
    out = {k: v for k, v in mask_data(failure).items() if k in keep}
    out.setdefault("kind", "unknown")
    out.setdefault("stage", "unknown")
    out.setdefault("message", "")
    return out


def _check_fields(check: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in mask_data(check).items() if k in CheckOutcome.model_fields}
    if out.get("status") not in ("passed", "failed", "warned", "quarantined"):
        out["status"] = "failed"
    return out


def _source(cfg) -> str | None:
    read = getattr(cfg, "read", None)
    if read is None:
        return None
    what = read.path or (f"table {read.table}" if read.table else "query")
    return f"{read.connection}:{what}"


def _changes(result: NodeResult, ins: list[str], by_key) -> SchemaChanges | None:
    """Columns added / removed / retyped against what the node read."""
    if result.source_columns is not None:
        before, against = result.source_columns, ["source"]
    elif ins:
        before, against = {}, []
        for dep in ins:
            up = by_key.get((result.pipeline, dep))
            if up is None or not up.columns:
                return None
            for name, typ in up.columns.items():
                before.setdefault(name, typ)
            against.append(dep)
    else:
        return None
    if not result.columns:
        return None
    lower_before = {k.lower(): (k, v) for k, v in before.items()}
    lower_after = {k.lower(): (k, v) for k, v in result.columns.items()}
    return SchemaChanges(
        against=against,
        added=[name for low, (name, _) in lower_after.items() if low not in lower_before],
        removed=[name for low, (name, _) in lower_before.items() if low not in lower_after],
        retyped=[
            Retyped(name=name, before=lower_before[low][1], after=typ)
            for low, (name, typ) in lower_after.items()
            if low in lower_before and lower_before[low][1] != typ
        ],
    )


def _sample(result: NodeResult, hidden: set[str]) -> Sample | None:
    if result.sample is None:
        return None
    columns = [str(c) for c in result.sample["columns"]]
    masked = [c for c in columns if c.lower() in hidden]
    positions = [i for i, c in enumerate(columns) if c.lower() in hidden]
    rows = []
    for row in result.sample["rows"]:
        row = list(row)
        for i in positions:
            if row[i] is not None:
                row[i] = MASK
        rows.append(mask_data(row))
    return Sample(columns=columns, rows=rows, masked=masked, source=result.sample.get("source", "relation"))


def _writes(result: NodeResult, cfg) -> list[WriteInfo]:
    from odibi.config.semantics import infer_format

    out: list[WriteInfo] = []
    write = getattr(cfg, "write", None)
    if write is not None:
        version = next((int(n.split()[-1]) for n in result.notes if n.startswith("delta version ")), None)
        target = (
            f"{write.connection}:{write.path}"
            if write.path
            else (result.written or f"{write.connection}:{write.table}")
        )
        out.append(
            WriteInfo(
                target=mask(target),
                connection=write.connection,
                format=(write.format or infer_format(write.path)) if write.path else "table",
                mode=str(write.mode),
                rows=result.rows if result.written else None,
                version=version,
            )
        )
    validation = getattr(cfg, "validation", None)
    quarantine = getattr(validation, "quarantine", None) if validation is not None else None
    if quarantine is not None and result.quarantined:
        out.append(
            WriteInfo(
                target=f"{quarantine.connection}:{quarantine.path}",
                connection=quarantine.connection,
                format=quarantine.format or infer_format(quarantine.path),
                mode=str(getattr(quarantine, "mode", "append")),
                rows=result.quarantined,
                role="quarantine",
            )
        )
    return out


def _totals(nodes: list[NodeStory]) -> Totals:
    totals = Totals(nodes=len(nodes))
    for n in nodes:
        setattr(totals, n.status, getattr(totals, n.status) + 1)
        totals.rows_written += sum(w.rows or 0 for w in n.writes if w.role == "output")
        totals.quarantined += n.quarantined
        totals.checks_failed += sum(c.status == "failed" for c in n.checks)
        totals.checks_warned += sum(c.status == "warned" for c in n.checks)
    return totals


def write_story(
    project: Project, conns, story: Story, formats: list[str], keep_last: int | None
) -> dict[str, str]:
    """Compare with the previous successful story, render, commit; returns format → location."""
    from odibi.story import renderers
    from odibi.story.diff import compare
    from odibi.story.store import StoryStore

    store = StoryStore(project, conns)
    previous = store.previous_success(story.run_id)
    if previous is not None:
        story.comparison = compare(previous, story)
    wanted = list(dict.fromkeys(["json", *formats]))
    renderings = {fmt: renderers.render(story, fmt) for fmt in wanted}
    written = store.write(story, renderings)
    if keep_last is not None:
        store.prune(keep_last)
    return written
