"""``odibi doctor``: can this machine run odibi, and can it reach what a project names?

Why: most "odibi does not work" reports are the environment (a library outside odibi's pins, no Java for
Spark, an unreachable database), not odibi. Doctor answers those questions in one place, each problem
with a concrete fix line, without starting a JVM or running a node.

:func:`build_report` gathers the facts as plain data (a :class:`Report` of :class:`Check` s);
:func:`render_text` and :func:`render_json` only print them. Exit codes (:attr:`Report.exit_code`):
0 all well (warnings allowed), 1 at least one error, 2 the config cannot be read or is invalid.

What is an error and what a warning:

- a core dependency missing or outside odibi's declared range, or a Python below ``Requires-Python``:
  error. An optional extra's package missing: information; installed but outside its range: warning.
- an engine that cannot start: error for duckdb and pandas (core dependencies) and for the CONFIG's
  engine; otherwise (Spark without pyspark or Java, a plugin) a warning. With ``engine: spark`` the
  ``spark`` extra's packages are required too.
- a connection that cannot be opened, prepared (Key Vault) or reached within ``--timeout``: error;
  a local folder that does not exist yet: warning (a write creates it).
- the editor schema beside the config (``# yaml-language-server: $schema=./...``) stale or missing: warning.

Secret values never reach the output: every string is passed through :func:`odibi.secrets.mask`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from odibi.errors import OdibiError
from odibi.secrets import mask, mask_data

OK, INFO, WARNING, ERROR = "ok", "info", "warning", "error"
RUNTIME_EXTRAS_SKIPPED = {"dev", "docs", "all"}  # tooling extras: not about running pipelines
JAVA_FIX = (
    "install OpenJDK 17 (apt install openjdk-17-jre-headless; brew install openjdk@17) "
    "or set JAVA_HOME to a Java 17 installation"
)
DEFAULT_TIMEOUT_S = 10.0


@dataclass
class Check:
    """One fact doctor checked: where it belongs, its verdict, what was found and how to fix it."""

    section: str  # python | package | engine | schema | config | connection
    name: str
    status: str  # ok | info | warning | error
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    config: str | None = None
    config_errors: list[OdibiError] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> Check:
        check = Check(*args, **kwargs)
        self.checks.append(check)
        return check

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def exit_code(self) -> int:
        if self.config_errors:
            return 2
        return 1 if self.count(ERROR) else 0


# --------------------------------------------------------------------------- building the report


def build_report(config: Path | None = None, *, timeout: float = DEFAULT_TIMEOUT_S) -> Report:
    """Every check, in the order they are printed. Only a config that cannot be read stops the checks
    of that config (and its connections); the environment is always reported."""
    report = Report(config=str(config) if config is not None else None)
    project, engine, spark_remote = None, None, None
    if config is not None:
        project = _check_config(report, config)
        if project is not None:
            engine = str(project.config.engine)
            spark_remote = project.config.options_for("spark").get("remote")
    _check_python(report)
    requirements = _check_packages(report, engine)
    _check_engines(report, engine, spark_remote, requirements)
    _check_schema(report, config)
    if project is not None:
        _check_connections(report, project, timeout)
    # the config is read first (its engine decides what is required), printed in reading order
    order = {"python": 0, "package": 1, "engine": 2, "schema": 3, "config": 4, "connection": 5}
    report.checks.sort(key=lambda c: order.get(c.section, 9))
    return report


def _check_config(report: Report, config: Path):
    """Load and validate as ``odibi validate`` does; the project when it could be loaded."""
    from odibi import api
    from odibi.config.project import load_project

    try:
        project = load_project(config)
    except OdibiError as err:
        report.config_errors.append(err)
        report.add("config", str(config), ERROR, "the config cannot be read or does not match the schema")
        return None
    try:
        valid = api.validate(project)
    except OdibiError as err:
        report.config_errors.append(err)
        report.add("config", str(config), ERROR, "the config does not validate")
        return project  # its connections can still be checked
    nodes = sum(len(names) for _, names in valid.selection)
    report.add(
        "config", str(config), OK,
        f"valid: {len(valid.selection)} pipeline(s), {nodes} node(s), engine {valid.engine}",
        data={"engine": valid.engine, "pipelines": len(valid.selection), "nodes": nodes},
    )  # fmt: skip
    return project


def _check_python(report: Report) -> None:
    from odibi import __version__

    version = platform.python_version()
    needed = _metadata_field("Requires-Python")
    status, fix = OK, None
    verdict = _satisfies(version, needed) if needed else None
    if verdict is False:
        status, fix = ERROR, f"odibi needs Python {needed}: use a newer Python for this environment"
    detail = f"{version} ({platform.python_implementation()}, {sys.executable})"
    if needed:
        detail += f", odibi needs {needed}"
    report.add("python", "python", status, detail, fix, {"version": version, "requires": needed})
    report.add("python", "odibi", OK, __version__, data={"version": __version__})


_OPS = ("===", "==", "~=", ">=", ">", "!=", "<=", "<")  # lower bounds before upper: >=1.5.5,<2


@dataclass
class _Requirement:
    name: str
    install: str  # what pip is given: name[extras]spec
    spec: str
    groups: list[str]  # "core" or the extras that list it


def _requirements() -> list[_Requirement] | str:
    """odibi's declared requirements that apply here (core and runtime extras), or why they are unknown."""
    from importlib.metadata import PackageNotFoundError, metadata, requires

    pk = _packaging()
    if pk is None:
        return "the 'packaging' library is missing, so the pins cannot be evaluated: pip install packaging"
    try:
        declared = requires("odibi") or []
        extras = [
            e for e in metadata("odibi").get_all("Provides-Extra") or [] if e not in RUNTIME_EXTRAS_SKIPPED
        ]
    except PackageNotFoundError:
        return "odibi is not installed as a distribution (run from a source tree?): pip install -e ."
    found: dict[tuple[str, str], _Requirement] = {}
    for text in declared:
        req = pk.requirements.Requirement(text)
        group: str | None = "core"
        if req.marker is not None:
            if "extra" in str(req.marker):
                group = next((e for e in extras if req.marker.evaluate({"extra": e})), None)
            elif not req.marker.evaluate({"extra": ""}):
                group = None  # not for this platform (sqlglotc on PyPy)
        if group is None:
            continue
        spec = ",".join(str(s) for s in sorted(req.specifier, key=lambda s: _OPS.index(s.operator)))
        key = (pk.utils.canonicalize_name(req.name), spec)
        if key in found:
            found[key].groups.append(group)
            continue
        install = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "") + spec
        found[key] = _Requirement(req.name, install, spec, [group])
    return list(found.values())


def _check_packages(report: Report, engine: str | None) -> list[_Requirement]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = _requirements()
    if isinstance(reqs, str):
        report.add("package", "pins", WARNING, "odibi's pins were not checked", reqs)
        return []
    for req in reqs:
        core = "core" in req.groups
        needed = core or (engine is not None and engine in req.groups)  # engine: spark needs [spark]
        where = "core" if core else "[" + ", ".join(req.groups) + "]"
        data = {"required": req.spec, "group": where, "installed": None}
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            if needed:
                fix = f"pip install '{req.install}'" if core else f'pip install "odibi[{engine}]"'
                report.add("package", req.name, ERROR, f"not installed (needs {req.spec})", fix, data)
            else:
                report.add("package", req.name, INFO, f"not installed (optional, {where})", None, data)
            continue
        data["installed"] = installed
        verdict = _satisfies(installed, req.spec)
        if verdict is None:
            report.add(
                "package", req.name, WARNING, f"{installed}: not a version odibi can compare", None, data
            )
        elif verdict:
            report.add("package", req.name, OK, f"{installed} ({req.spec or 'any'}, {where})", None, data)
        else:
            report.add(
                "package", req.name, ERROR if needed else WARNING,
                f"{installed} does not satisfy {req.spec} ({where})", f"pip install -U '{req.install}'", data,
            )  # fmt: skip
    return reqs


def _check_engines(report: Report, engine: str | None, remote: str | None, reqs: list[_Requirement]) -> None:
    from odibi.engines.registry import BUILTIN, available

    def pin_fix(name: str, default: str) -> str:
        req = next((r for r in reqs if r.name == name), None)
        return f"pip install -U '{req.install}'" if req else default

    for name, module, fix in (
        ("duckdb", "duckdb", pin_fix("duckdb", "pip install -U duckdb")),
        ("pandas", "pandas", pin_fix("pandas", "pip install -U pandas")),
    ):
        ok, text = _importable(module)
        report.add("engine", name, OK if ok else ERROR, text, None if ok else fix, {"startable": ok})
    _check_spark(report, required=engine == "spark", remote=remote)
    for name, spec in available().items():
        if name in BUILTIN:
            continue
        from importlib.util import find_spec

        module = spec.target.partition(":")[0]
        try:
            ok = find_spec(module) is not None
        except (ImportError, ValueError):
            ok = False
        status = OK if ok else (ERROR if engine == name else WARNING)
        detail = f"plugin {spec.target}" + ("" if ok else ": module not found")
        report.add(
            "engine", name, status, detail, None if ok else (spec.install_hint or None), {"startable": ok}
        )


def _check_spark(report: Report, *, required: bool, remote: str | None) -> None:
    """pyspark importable and (for a local session) a Java that Spark's launcher will use; no JVM started."""
    bad = ERROR if required else WARNING
    ok, text = _importable("pyspark")
    if not ok:
        fix = 'pip install "odibi[spark]" (and a Java 17 runtime: ' + JAVA_FIX + ")"
        report.add("engine", "spark", bad, f"not startable: {text}", fix, {"startable": False})
        return
    if remote:
        report.add(
            "engine", "spark", OK, f"{text}; Spark Connect to {remote} (no local Java needed; not contacted)",
            data={"startable": True, "remote": remote},
        )  # fmt: skip
        return
    java, problem = _java()
    if problem:
        detail = f"not startable: {text}, but {problem}"
        report.add("engine", "spark", bad, detail, JAVA_FIX, {"startable": False, "java": java})
        return
    major = _java_major(java)
    pyspark_major = int(text.split()[-1].split(".")[0]) if text.split()[-1][:1].isdigit() else 0
    java_text = f"Java {major or '(version unknown)'} at {java}"
    if major and pyspark_major >= 4 and major < 17:
        detail = f"not startable: {text} needs Java 17 or newer, found {java_text}"
        report.add("engine", "spark", bad, detail, JAVA_FIX, {"startable": False, "java": java})
        return
    report.add("engine", "spark", OK, f"{text}, {java_text}", data={"startable": True, "java": java})


def _java() -> tuple[str | None, str | None]:
    """(the java Spark's launcher runs, why none) — spark-class uses $JAVA_HOME/bin/java when JAVA_HOME
    is set, else ``java`` on PATH."""
    from odibi.engines.spark_session import _java_found

    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        if java.exists():
            return str(java), None
        return None, f"JAVA_HOME={home} has no bin/java (Spark uses JAVA_HOME when it is set)"
    if not _java_found():
        return None, "Java not found (no JAVA_HOME, no java on PATH)"
    return shutil.which("java"), None


def _java_major(java: str | None) -> int | None:
    """The Java major version from the installation's ``release`` file (no JVM started)."""
    if not java:
        return None
    release = Path(os.path.realpath(java)).parent.parent / "release"
    try:
        match = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.MULTILINE)
    except OSError:
        return None
    if not match:
        return None
    parts = match.group(1).split(".")
    first = parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]  # 1.8.0_392 is Java 8
    return int(first) if first.isdigit() else None


def _check_schema(report: Report, config: Path | None) -> None:
    """The JSON Schema this odibi validates against, and whether the editor copy beside CONFIG is current."""
    import hashlib

    from odibi import __version__
    from odibi.config.schema import project_schema, schema_text

    schema = project_schema()
    digest = hashlib.sha256(schema_text().encode()).hexdigest()[:12]
    draft = str(schema.get("$schema", "")).rstrip("/").removesuffix("/schema").rsplit("/", 1)[-1]
    report.add(
        "schema", "config schema", OK,
        f"JSON Schema draft {draft}, {schema.get('$id')}, from odibi {__version__} (sha256 {digest})",
        data={"$schema": schema.get("$schema"), "$id": schema.get("$id"), "sha256": digest},
    )  # fmt: skip
    if config is None:
        return
    try:
        head = Path(config).read_text(encoding="utf-8", errors="replace").splitlines()[:5]
    except OSError:
        return
    ref = next(
        (m.group(1) for line in head if (m := re.search(r"yaml-language-server:\s*\$schema=(\S+)", line))),
        None,
    )
    if ref is None or re.match(r"^[a-z]+://", ref):
        return
    path = (Path(config).parent / ref).resolve()
    fix = f"odibi schema -o {path}"
    try:
        current = json.loads(path.read_text(encoding="utf-8")) == schema
    except FileNotFoundError:
        report.add(
            "schema", "editor schema", WARNING, f"{path} (named by the config's first lines) is missing", fix
        )
        return
    except (OSError, ValueError):
        current = False
    if current:
        report.add("schema", "editor schema", OK, f"{path} is current")
    else:
        report.add("schema", "editor schema", WARNING, f"{path} differs from this odibi's schema", fix)


def _check_connections(report: Report, project: Any, timeout: float) -> None:
    """Open each connection as a run does, fetch its secrets (Key Vault), then check it; all at once, each
    within ``timeout`` seconds. Workers are daemon threads: a check that never answers cannot hold the
    process open."""
    from odibi.connections.resolve import OpenConnections

    conns = OpenConnections(project)
    names = list(project.config.connections)
    results: dict[str, dict[str, Any]] = {name: {"stage": "opening"} for name in names}
    threads = []
    for name in names:
        thread = threading.Thread(
            target=_probe, args=(conns, name, results[name]), name=f"odibi-doctor-{name}", daemon=True
        )
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    try:
        for name in names:
            _report_connection(report, name, results[name], timeout)
    finally:
        conns.close()


def _probe(conns: Any, name: str, out: dict[str, Any]) -> None:
    try:
        conn = conns.get(name)
        out["describe"] = _describe(conn)
        out["conn"] = conn
        out["stage"] = "fetching its secrets"
        conn.prepare()
        out["stage"] = "checking"
        out["check"] = conn.check()
    except OdibiError as err:
        out["error"], out["hint"] = err.message, err.hint
    except Exception as exc:  # a library's error: its first line, masked below
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        out["error"] = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    finally:
        out["done"] = True


def _describe(conn: Any) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in conn.describe().items()}
    except Exception as exc:
        return {"name": conn.name, "type": conn.type, "describe": f"failed: {type(exc).__name__}"}


def _report_connection(report: Report, name: str, out: dict[str, Any], timeout: float) -> None:
    described = out.get("describe") or {"name": name}
    extra = ", ".join(f"{k}: {v}" for k, v in described.items() if k not in _SHOWN and v)
    where = " ".join(described.get(k, "") for k in ("type", "root") if described.get(k)) or name
    where += f" (auth: {described.get('auth') or 'n/a'}" + (f", {extra})" if extra else ")")
    data = {"describe": described}
    conn = out.get("conn")
    if not out.get("done"):
        reason = f"no answer within {timeout:g} s (while {out['stage']})"
        fix = _connection_fix(conn, reason) + f"; or allow more time: --timeout {int(timeout * 3)}"
        report.add("connection", name, ERROR, f"{where}: {reason}", fix, data)
        return
    if "error" in out:
        fix = out.get("hint") or _connection_fix(conn, out["error"])
        report.add("connection", name, ERROR, f"{where}: {out['error']}", fix, data)
        return
    check = out["check"]
    data["ok"] = check.ok
    if check.ok:
        report.add("connection", name, OK, f"{where}: {check.reason}", None, data)
        return
    status = ERROR
    root = getattr(conn, "root", None)
    if conn is not None and not conn.remote and isinstance(root, Path) and not root.exists():
        status = WARNING  # an output folder a first run creates; a read from it would fail
    if check.reason.startswith("odibi cannot check"):
        status = WARNING
    report.add(
        "connection", name, status, f"{where}: {check.reason}", _connection_fix(conn, check.reason), data
    )


_SHOWN = ("name", "type", "root", "auth")
_EXTRA_OF_TYPE = {"azure_adls": "azure", "s3": "aws", "gcs": "gcp", "sql": "sql", "azure_sql": "azure-sql"}


def _connection_fix(conn: Any, reason: str) -> str:
    """A concrete next step for a connection that failed its check."""
    kind = getattr(conn, "type", "")
    if "No module named" in reason or "not installed" in reason:
        extra = _EXTRA_OF_TYPE.get(kind)
        return f'pip install "odibi[{extra}]"' if extra else "install the package the message names"
    if conn is None:
        return "check the connection's settings in the config"
    if not conn.remote:
        folder = shlex.quote(str(getattr(conn, "root", "")))
        return f"create the folder (mkdir -p {folder}) or correct base_path; a read from it fails until it exists"
    if getattr(conn, "tables", False):
        return (
            "start the database or correct the URL's host, port and database name; check the user and "
            "password (${VAR}s in the URL are read from the environment) and any firewall between"
        )
    return (
        "check the bucket / container name, the credentials of its auth mode, and the network path "
        "(endpoint, proxy, firewall)"
    )


# --------------------------------------------------------------------------- helpers


def _packaging():
    """The ``packaging`` library (a dependency of ibis-framework[duckdb], hence always installed with odibi),
    else pip's vendored copy; None when neither can be imported."""
    try:
        import packaging.requirements
        import packaging.specifiers
        import packaging.utils
        import packaging.version

        return packaging
    except ImportError:
        pass
    try:
        import pip._vendor.packaging.requirements
        import pip._vendor.packaging.specifiers
        import pip._vendor.packaging.utils
        import pip._vendor.packaging.version

        return pip._vendor.packaging
    except ImportError:
        return None


def _satisfies(installed: str, spec: str) -> bool | None:
    """Whether ``installed`` is inside ``spec`` (pre-releases allowed); None when it cannot be told."""
    pk = _packaging()
    if pk is None:
        return None
    try:
        return pk.specifiers.SpecifierSet(spec).contains(pk.version.Version(installed), prereleases=True)
    except (pk.version.InvalidVersion, pk.specifiers.InvalidSpecifier):
        return None


def _metadata_field(key: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        return metadata("odibi").get(key)
    except PackageNotFoundError:
        return None


def _importable(module: str) -> tuple[bool, str]:
    """Import ``module`` for real (a broken binary wheel fails only then); (ok, "name version" or why)."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # ImportError, or whatever a broken install raises while importing
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return False, f"cannot import {module}: {text}"
    return True, f"{module} {getattr(mod, '__version__', '(version unknown)')}"


# --------------------------------------------------------------------------- rendering

_STYLE = {OK: "green", INFO: "dim", WARNING: "yellow", ERROR: "bold red"}
_TITLES = {
    "python": "Python",
    "package": "Packages (odibi's declared pins)",
    "engine": "Engines",
    "schema": "Config schema",
    "config": "Project",
    "connection": "Connections",
}


def to_dict(report: Report) -> dict[str, Any]:
    from odibi import __version__

    config = None
    if report.config is not None:
        config = {
            "path": report.config,
            "valid": not report.config_errors,
            "errors": [e.to_dict() for err in report.config_errors for e in _flatten(err)],
        }
    return mask_data({
        "odibi": __version__,
        "exit_code": report.exit_code,
        "errors": report.count(ERROR),
        "warnings": report.count(WARNING),
        "config": config,
        "checks": [asdict(c) for c in report.checks],
    })  # fmt: skip


def render_json(report: Report) -> str:
    return mask(json.dumps(to_dict(report), indent=2, default=str))


def render_text(report: Report) -> None:
    """Print the report: one section per kind of check, a fix under each problem, a verdict last.
    Colour on a terminal, plain text when piped (rich decides; NO_COLOR is honoured)."""
    from rich.console import Console
    from rich.text import Text

    from odibi.cli.render import render_text as render_error
    from odibi.cli.summary import _MaskedStdout

    console = Console(file=_MaskedStdout(), highlight=False, soft_wrap=True)
    section, width = None, 0
    for check in report.checks:
        if check.section != section:
            section = check.section
            width = max(len(c.name) for c in report.checks if c.section == section)
            console.print(Text(_TITLES.get(section, section), style="bold"))
        line = Text("  ")
        line.append(f"{check.status:<8}", style=_STYLE.get(check.status, ""))
        line.append(f"{mask(check.name):<{width}}  {mask(check.detail)}")
        console.print(line)
        if check.fix:
            console.print(Text(f"  {'':<8}{'':<{width}}  fix: {mask(check.fix)}", style="cyan"))
        if check.section == "config":
            for err in report.config_errors:  # located: file:line:col, the line, a caret, a hint
                console.print(Text(render_error(err)))
    errors, warnings = report.count(ERROR), report.count(WARNING)
    if report.config_errors:
        verdict, style = "the config is invalid (exit 2)", "bold red"
    elif errors:
        verdict, style = f"{errors} error(s), {warnings} warning(s) (exit 1)", "bold red"
    else:
        verdict = "all well" + (f", {warnings} warning(s)" if warnings else "")
        style = "yellow" if warnings else "green"
    console.print(Text(verdict, style=style))


def _flatten(err: OdibiError) -> list[OdibiError]:
    from odibi.cli.render import flatten

    return flatten(err)


def doctor_command(config: Path | None, fmt: str, timeout: float) -> int:
    """Build the report, print it in ``fmt`` (text | json) and return the exit code."""
    report = build_report(config, timeout=timeout)
    if fmt == "json":
        sys.stdout.write(render_json(report) + "\n")
    else:
        render_text(report)
    return report.exit_code
