"""The public API. The CLI calls only this module.

``validate`` checks everything that can be known without data (schema, references, cycles, SQL), and
collects every problem before raising. ``compile_project`` renders each node's SQL in any dialect.
``run_project`` runs the plan on an engine.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from odibi.compile.node import CompiledNode
from odibi.compile.project import RenderedNode, compile_nodes, render_node
from odibi.compile.table_checks import check_tables
from odibi.config.project import Damage, Project, error_order, load_project, load_recovering
from odibi.config.semantics import check_semantics
from odibi.errors import CompileError, Note, OdibiError, Problems, UsageError
from odibi.plan.graph import PipelinePlan, ProjectPlan, build_plan, select


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a project is loaded and compiled.

    Compiling builds a sqlglot tree per step and keeps most of them; the collector would walk the
    growing heap over and over, about a third of `odibi validate`'s time on a 1,000-node project. The
    work is bounded and short, and what it leaves as garbage is collected once the collector resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class ValidProject:
    """A project that passed every check, with its plan and compiled nodes."""

    project: Project
    plan: ProjectPlan
    selection: list[tuple[PipelinePlan, list[str]]]
    compiled: dict[tuple[str, str], CompiledNode]
    # checks validate had to skip, and why (e.g. an input whose columns are not known): never a silent pass
    notes: list[Note] = field(default_factory=list)
    # true but worth saying: a translation to the engine's dialect that may change meaning (--strict: errors)
    warnings: list[CompileError] = field(default_factory=list)

    @property
    def engine(self) -> str:
        return str(self.project.config.engine)


def validate(
    config: str | Path | Project,
    *,
    pipeline: str | None = None,
    node: str | None = None,
    engine: str | None = None,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
    strict: bool = False,
) -> ValidProject:
    """Load and check a project; raises a ConfigError (or ConfigErrors with all of them).

    With ``engine``, every SQL step is also rendered in that engine's dialect, and a construct sqlglot
    cannot translate faithfully is reported at its step, before anything runs. ``environment``: the
    overlay of the config's ``environments:`` to apply (default ``$ODIBI_ENV``); it applies when
    ``config`` is a path (a loaded :class:`Project` already has its own). The other functions here
    take it too. ``variables``: values of the config's ``vars:`` to override (``--var name=value``),
    likewise applied when ``config`` is a path. ``strict``: a translation warning is an error.
    """
    with _gc_paused():
        return _validate(config, pipeline, node, engine, environment, variables, strict)


def _validate(
    config,
    pipeline: str | None,
    node: str | None,
    engine: str | None,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
    strict: bool = False,
) -> ValidProject:
    if isinstance(config, Project):
        project, early = config, []
    else:
        # schema errors do not stop the checks: what they leave valid is checked too (config/recovery.py)
        project, early = load_recovering(config, environment=environment, variables=variables)
    problems = Problems(list(early))
    if project is None:
        _raise_sorted(problems)
    check_semantics(project, problems)
    plan = build_plan(project, problems)
    # compile even when the graph has problems (cyclic nodes are left out of the order), so that one
    # run of `odibi validate` reports every mistake
    try:
        selection = select(plan, pipeline, node)
    except UsageError:
        if early:  # the schema errors come first, as when they stopped everything (a --node may be one)
            _raise_sorted(problems)
        raise
    _load_transforms(project, problems)
    damage = project.damage
    if damage is not None:
        selection = _undamaged(selection, damage)
    compiled = compile_nodes(project, plan, selection, problems)
    check_tables(project, selection, compiled, problems)
    if engine is not None:
        from odibi.compile.project import check_portable
        from odibi.engines.registry import dialect_of

        check_portable(compiled.values(), dialect_of(engine), engine, problems, strict=strict)
    _raise_sorted(problems)
    notes = list({str(n): n for n in problems.notes}.values())
    warnings = list({str(w): w for w in problems.warnings}.values())
    return ValidProject(project, plan, selection, compiled, notes, warnings)


def _raise_sorted(problems: Problems) -> None:
    """Raise every problem at once, in file order, each reported once."""
    unique = {(str(e.location), e.message): e for e in problems.errors}
    problems.errors = sorted(unique.values(), key=error_order)
    problems.raise_if_any()


def _undamaged(selection: list[tuple[PipelinePlan, list[str]]], damage: Damage):
    """The selection without what schema recovery neutralised (placeholders, and nodes that depend on a
    node whose name was invalid); nothing at all when the SQL's dialect is unknown."""
    if damage.dialect:
        return []
    out = []
    for pplan, names in selection:
        if pplan.index in damage.pipelines:
            continue
        bad = damage.node_names.get(pplan.index, set())
        keep = [n for n in names if (pplan.index, pplan.node_index[n]) not in damage.nodes
                and not bad.intersection(pplan.nodes[n].depends_on)]  # fmt: skip
        out.append((pplan, keep))
    return out


def load_transforms(project: Project) -> None:
    """Import the project's ``transform_modules``, or the ``transforms.py`` beside its config (ODIBI v1);
    a ConfigError located at the module's line when one fails to import. Shared by validate, run and
    ``odibi list transforms``, so they see the same functions."""
    modules = project.config.transform_modules
    if not modules:
        # ODIBI v1 projects have no transform_modules: their functions live in transforms.py beside the config
        if not (project.root / "transforms.py").is_file():
            return
        modules = ["transforms.py"]
    from odibi.transforms import load_modules

    load_modules(modules, project.root, lambda i: project.source.locate(("transform_modules", i)))


def _load_transforms(project: Project, problems: Problems) -> None:
    try:
        load_transforms(project)
    except OdibiError as err:
        problems.add(err)  # type: ignore[arg-type]


def compile_project(
    config: str | Path | Project,
    *,
    dialect: str | None = None,
    engine: str | None = None,
    pipeline: str | None = None,
    node: str | None = None,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
    strict: bool = False,
) -> list[RenderedNode]:
    """Each selected node's SQL in ``dialect`` (default: the engine's dialect).

    For an engine (``engine=`` or the config's), rendering is strict: what that engine would run. For an
    explicit ``dialect=`` it is lenient: the closest SQL, with translation warnings on each node
    (``strict``: they are errors).
    """
    from odibi.engines.registry import dialect_of

    valid = validate(config, pipeline=pipeline, node=node, environment=environment, variables=variables)
    target = dialect or dialect_of(engine or valid.engine)
    _check_dialect(target)
    out = []
    problems = Problems()
    with _gc_paused():
        for pplan, names in valid.selection:
            for name in names:
                try:
                    compiled = valid.compiled[(pplan.name, name)]  # `valid` is ours alone: consumed
                    warned: list[CompileError] = []
                    out.append(render_node(compiled, target, strict=dialect is None, consume=True,
                                           problems=warned))  # fmt: skip
                    if strict:
                        problems.errors.extend(warned)
                except CompileError as err:
                    problems.add(err)
    problems.raise_if_any()
    return out


def _check_dialect(name: str) -> None:
    from odibi.config.models import SQL_DIALECTS, suggest
    from odibi.errors import UsageError

    if name not in SQL_DIALECTS:
        near = suggest(name, SQL_DIALECTS)
        raise UsageError(
            f"unknown SQL dialect '{name}'" + (f" (did you mean '{near}'?)" if near else ""),
            hint=f"dialects: {', '.join(SQL_DIALECTS)}",
        )


def run_project(
    config: str | Path | Project,
    *,
    engine: str | None = None,
    pipeline: str | None = None,
    node: str | None = None,
    on_node=None,
    full_refresh: bool = False,
    workers: int | None = None,
    on_error: str | None = None,
    resume: bool = False,
    listener=None,
    debug: bool = False,
    story: bool = True,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
):
    """Validate, then run the selected nodes; returns a :class:`odibi.run.runner.RunResult`.

    ``full_refresh``: incremental reads read everything (and record new marks). ``workers``: nodes at
    once (default: the project's, else the engine's). ``on_error``: ``fail_fast`` | ``continue`` for
    nodes that do not set their own. ``resume``: run again only what failed, was skipped or did not
    finish in the project's last run, and what depends on it (a result with no nodes: nothing to do).
    ``on_node(result)`` as each node ends; ``listener(event, fields)`` follows every event (progress).
    ``debug``: failures keep their traceback. ``story``: write the run's story (``result.story`` says
    where; ``story.auto_generate: false`` in the project turns it off too)."""
    from odibi.engines import registry
    from odibi.run.runner import RunResult, run_plan

    valid = validate(
        config, pipeline=pipeline, node=node, engine=engine, environment=environment, variables=variables
    )
    name = engine or valid.engine
    registry.spec(name)
    selection, plan = valid.selection, None
    if resume:
        plan, selection = resume_plan(valid)
        if not selection:
            return RunResult(valid.project.config.project, name, [], 0.0, resumed_from=plan.from_run)
    eng = registry.create(name, **valid.project.config.options_for(name))
    log = None if on_node is None else (lambda result: on_node(_masked(result)))
    try:
        return _masked(
            run_plan(
                valid.project,
                eng,
                selection,
                valid.compiled,
                log=log,
                consume=True,
                full_refresh=full_refresh,
                workers=workers,
                on_error=on_error,
                resume=plan,
                listener=listener,
                debug=debug,
                story=story,
            )
        )
    finally:
        eng.close()


def resume_plan(valid: ValidProject):
    """What ``--resume`` runs: the nodes of the project's last run that did not succeed (failed, skipped,
    not run, or never finished because the run died) and their downstream, plus the upstream they need,
    recomputed without writing. Returns ``(Resume, selection)``; an empty selection: nothing to do."""
    from odibi.errors import UsageError
    from odibi.run.runner import Resume
    from odibi.run.state import RunStateStore

    project = valid.project
    store = RunStateStore(project.root)
    try:
        last = store.last_run(project.config.project)
    finally:
        store.close()
    if last is None:
        raise UsageError(
            f"no earlier run of project '{project.config.project}' to resume",
            hint="run without --resume (runs are recorded in .odibi/state.db beside the project)",
        )
    if last.status == "running":
        raise UsageError(
            f"run {last.run_id} of this project is still running",
            hint="wait for it to end (odibi runs lists it), then resume",
        )
    selected = {(p.name, n) for p, names in valid.selection for n in names}
    # a node the last run only recomputed (to feed resumed nodes) had its write done earlier still: it is
    # computed again where it is needed, never written again (an append would land twice)
    done = {(n.pipeline, n.node) for n in last.nodes if n.status == "success" or n.action == "recomputed"}
    todo = {tuple(k) for k in last.planned if tuple(k) not in done} & selected
    consumers: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for pplan, _ in valid.selection:
        for name, users in pplan.consumers().items():
            consumers[(pplan.name, name)] = [(pplan.name, u) for u in users]
    rerun, stack = set(), list(todo)
    while stack:  # and everything downstream of them
        key = stack.pop()
        if key in rerun or key not in selected:
            continue
        rerun.add(key)
        stack.extend(consumers.get(key, []))
    recompute, stack = set(), [k for k in rerun]
    from odibi.run.node_exec import inputs

    while stack:  # the upstream they read, done by the earlier run: computed again, not written
        pipe, name = stack.pop()
        for dep in inputs(valid.compiled[(pipe, name)]):
            key = (pipe, dep)
            if key not in rerun and key not in recompute and key in selected:
                recompute.add(key)
                stack.append(key)
    wanted = rerun | recompute
    selection = [(pplan, [n for n in names if (pplan.name, n) in wanted]) for pplan, names in valid.selection]
    selection = [(pplan, names) for pplan, names in selection if names]
    return Resume(last.run_id, rerun, recompute), selection


def _masked(result):
    """``result`` (a RunResult or NodeResult) with secret values masked in place: a node's error is an
    engine's message, which may quote any value (SECURITY.md)."""
    from odibi.secrets import mask_data

    for node in getattr(result, "nodes", [result]):
        for key, value in vars(node).items():
            if isinstance(value, str | list | dict):
                setattr(node, key, mask_data(value))
    return result


def compare_engines(
    config: str | Path | Project,
    engines: list[str],
    *,
    pipeline: str | None = None,
    node: str | None = None,
    rel_tol: float = 1e-9,
    environment: str | None = None,
    variables: dict[str, str] | None = None,
):
    """Run the project on each engine into scratch folders and compare every output (portability check)."""
    from odibi.engines import registry
    from odibi.errors import UsageError
    from odibi.run import compare
    from odibi.run.runner import run_plan

    if len(engines) < 2:
        raise UsageError("--compare needs at least two engines, e.g. --compare duckdb,pandas")
    for name in engines:
        registry.spec(name)
    valid = validate(config, pipeline=pipeline, node=node, environment=environment, variables=variables)
    for name in engines:
        validate(valid.project, pipeline=pipeline, node=node, engine=name)
    root = valid.project.root
    runs, redirects = {}, {}
    for name in engines:
        redirects[name] = compare.prepare(root, name)
        eng = registry.create(name, **valid.project.config.options_for(name))
        try:
            runs[name] = _masked(
                run_plan(valid.project, eng, valid.selection, valid.compiled, redirect=redirects[name])
            )
        finally:
            eng.close()
    outputs = [_masked(out) for out in compare.compare_outputs(redirects, root, rel_tol=rel_tol)]
    return compare.Comparison(runs, outputs)


__all__ = [
    "OdibiError",
    "ValidProject",
    "compare_engines",
    "compile_project",
    "load_project",
    "run_project",
    "validate",
]
