"""Spark sessions for the Spark engine: the one to use, built once per process, and Spark Connect clients.

An active session (Databricks, a notebook, a test fixture) is reused as it is; otherwise odibi builds one
local session per process (:func:`shared_session`, stopped at interpreter exit) because a session takes
seconds to start. ``remote: "sc://host:15002"`` gives a Spark Connect client session per URL and process
(:func:`remote_session`). Both get DuckDB-like SQL semantics (UTC, ANSI casts, naive timestamps).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

from odibi.errors import EngineError
from odibi.run.locks import private_tempdir

INSTALL_HINT = (
    'pip install "odibi[spark]" (pyspark>=3.5,<4.1) and a Java 17 runtime (JAVA_HOME or java on PATH)'
)

_SHARED: Any = None  # the session odibi built in this process (reused by later engines)
_REMOTE: dict[str, Any] = {}  # Spark Connect URL → the client session odibi opened to it in this process

# DuckDB-like SQL semantics: runtime settings, applied to local sessions and to Spark Connect sessions
_SQL_SEMANTICS = {
    "spark.sql.session.timeZone": "UTC",
    # strict casts and overflow errors, like DuckDB (the default from Spark 4.0)
    "spark.sql.ansi.enabled": "true",
    # naive timestamps, like DuckDB's TIMESTAMP; parquet timestamps as INT64 micros, not INT96
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


def _require_pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as exc:
        raise EngineError(
            f"the spark engine needs the Python package '{exc.name or 'pyspark'}', which is not installed",
            hint=INSTALL_HINT,
        ) from None
    return SparkSession


def _java_found() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def _quiet_log4j(tmp: str) -> str:
    """A log4j2 configuration that prints nothing (Spark's default prints banners on stderr).

    Nothing, errors included: Spark logs a failing task or query with its message and Java stack trace,
    and such a message may quote any value of the data or the SQL, a secret too (SECURITY.md). The JVM's
    stderr is not ours to mask, so it stays silent; odibi reports the same error through the node's
    result (masked). The logger of PySpark's gateway (the class that starts Spark's logging as a shell)
    is set too: when its level differs from the root's, Spark lowers the console to WARN and says so
    ("Setting default log level to WARN").
    """
    path = Path(tmp) / "log4j2.properties"
    path.write_text(
        "rootLogger.level = off\nrootLogger.appenderRef.stderr.ref = console\n"
        "logger.repl.name = org.apache.spark.api.python.PythonGatewayServer\nlogger.repl.level = off\n"
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex\n"
    )
    return str(path)


# PySpark (4.0+) logs every SQL error it converts, with the Java stack trace, as JSON on stderr through
# these loggers (pyspark.errors.exceptions.base._log_exception); odibi reports the error itself
_PYSPARK_ERROR_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def _quiet_pyspark_loggers() -> None:
    import logging

    try:  # made by PySpark's own class: a plain logger would refuse the keywords PySpark logs with
        from pyspark.logger import PySparkLogger
    except ImportError:  # pyspark < 4.0 logs no such records
        return
    for name in _PYSPARK_ERROR_LOGGERS:
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)


def default_conf(tmp: str) -> dict[str, str]:
    """The configuration of a local session odibi builds: small, quiet, UTC, DuckDB-like semantics."""
    return {
        **_SQL_SEMANTICS,
        "spark.sql.warehouse.dir": f"{tmp}/warehouse",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={tmp}/derby -Duser.timezone=UTC "
        f"-Dlog4j2.configurationFile=file:{_quiet_log4j(tmp)}",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "2g",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.adaptive.enabled": "true",
    }


def shared_session(master: str | None = None, conf: dict[str, Any] | None = None, app_name: str = "odibi"):
    """The session to use: the active one if any, else one local session per process (built once).

    Tests and repeated runs in one process share it; it is stopped at interpreter exit. ``master``,
    ``conf`` and ``app_name`` apply only when the session is built here.
    """
    global _SHARED
    SparkSession = _require_pyspark()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if _SHARED is not None and _alive(_SHARED):
        return _SHARED
    _SHARED = build_session(master, conf, app_name)
    atexit.register(_stop_shared)
    return _SHARED


_TMP_LOCKS: list = []


def build_session(master: str | None = None, conf: dict[str, Any] | None = None, app_name: str = "odibi"):
    """A new local session (about 5-10 s to start)."""
    SparkSession = _require_pyspark()
    if not _java_found():
        raise EngineError("the spark engine needs a Java runtime, and none was found", hint=INSTALL_HINT)
    tmp, lock = private_tempdir("odibi-spark-")  # held for the session's life; swept after the process
    _TMP_LOCKS.append(lock)
    os.environ.setdefault("PYSPARK_PYTHON", _python())
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master or "local[2]").appName(app_name or "odibi")
    for key, value in {**default_conf(tmp), **{k: str(v) for k, v in (conf or {}).items()}}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # JAVA_GATEWAY_EXITED and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(f"could not start a Spark session: {first}", hint=INSTALL_HINT) from None
    session.sparkContext.setLogLevel("OFF")  # see _quiet_log4j
    _quiet_pyspark_loggers()
    return session


CONNECT_HINT = (
    'Spark Connect needs the client packages: pip install "odibi[spark]" (pyspark[connect]: grpcio, '
    "grpcio-status, googleapis-common-protos, pandas, pyarrow), and a Spark Connect server at the URL"
)


def remote_session(url: str, conf: dict[str, Any] | None = None, app_name: str = "odibi"):
    """The Spark Connect session to ``url``: one per URL and process, reused by later engines.

    ``conf`` (runtime ``spark.sql.*``-style settings; static ones belong to the server) is applied each
    time, on top of odibi's SQL semantics (UTC, ANSI, naive timestamps). The sessions are released at
    interpreter exit; the server is never stopped.
    """
    session = _REMOTE.get(url)
    if session is not None and (not _alive(session) or _unanswered(session) is not None):
        _release(session)  # the server restarted or expired the session: open a new one
        session = None
    if session is None:
        session = build_remote_session(url, app_name)
        if not _REMOTE:
            atexit.register(stop_remote_sessions)
        _REMOTE[url] = session
    _apply_conf(session, url, conf)
    return session


def build_remote_session(url: str, app_name: str = "odibi"):
    """A new Spark Connect client session to ``url`` (checked to answer within a few seconds).

    Built with ``pyspark.sql.connect``'s own builder (``SparkSession.builder.remote(url)``), not the
    classic one: the classic builder switches the whole process to Connect mode (``SPARK_CONNECT_MODE_ENABLED``)
    and refuses to run beside a local session, which would break other engines in the same process.
    """
    _require_pyspark()
    if not str(url).startswith("sc://"):
        raise EngineError(
            f"spark option 'remote' must be a Spark Connect URL (sc://host:port), not '{url}'",
            hint="e.g. engine_options: {spark: {remote: 'sc://localhost:15002'}}",
        )
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        raise EngineError(
            f"Spark Connect in odibi needs pyspark 4.0 or later (this is {pyspark.__version__})",
            hint='pip install "odibi[spark]" "pyspark>=4.0,<4.1"',
        )
    try:
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies("odibi.engines.spark")  # names the missing package and the version it needs
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except Exception as exc:  # ImportError / PySparkImportError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineError(
            f"the spark engine cannot use Spark Connect here: {first}", hint=CONNECT_HINT
        ) from None
    target = url
    if app_name and "user_agent=" not in url:
        # a Connect client cannot name the server's application; its user agent is what the server logs
        target = f"{url.rstrip('/')}{'' if '/;' in url else '/'};user_agent={app_name}"
    session = ConnectSession.builder.remote(target).create()
    _quiet_pyspark_loggers()
    error = _unanswered(session)
    if error is not None:
        _release(session)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise EngineError(
            f"could not reach the Spark Connect server at {url}: {first[:300]}",
            hint="is the Spark Connect server running there? (engine_options.spark.remote names it)",
        )
    return session


def _unanswered(session) -> Exception | None:
    """The error of one round trip to the server, or None when it answered.

    Bounded to a few seconds: the client's own retry policy waits about 10 minutes for a server.
    """
    from pyspark.sql.connect.client.retries import DefaultPolicy

    client = session.client
    policies = client.get_retry_policies()
    client.set_retry_policies([DefaultPolicy(max_retries=4, max_backoff=2000)])
    try:
        # a session call (the server answers ``version`` even for a session it released)
        session.conf.get("spark.sql.session.timeZone")
    except Exception as exc:
        return exc
    finally:
        client.set_retry_policies(policies)
    return None


def _release(session) -> None:
    """Release a Connect session without waiting on a server that may be gone."""
    with contextlib.suppress(Exception):
        from pyspark.sql.connect.client.retries import DefaultPolicy

        session.client.set_retry_policies([DefaultPolicy(max_retries=1, max_backoff=500)])
    # Not session.stop(): its client.close() shuts down pyspark's process-wide pool of "release execution"
    # calls (ExecutePlanResponseReattachableIterator.shutdown), which the other Connect sessions of this
    # process share; a query of the session that replaces this one then failed with "cannot schedule new
    # futures after shutdown", or hung (seen in CI, pyspark 4.0.5). Release this session, close its channel.
    client = session.client
    with contextlib.suppress(Exception), warnings.catch_warnings():
        # pyspark 4.0 reports a failed release through the deprecated logger.warn
        warnings.simplefilter("ignore", DeprecationWarning)
        client.release_session()
    with contextlib.suppress(Exception):
        client._channel.close()
        client._closed = True


def _apply_conf(session, url: str, conf: dict[str, Any] | None) -> None:
    for key, value in {**_SQL_SEMANTICS, **{k: str(v) for k, v in (conf or {}).items()}}.items():
        try:
            session.conf.set(key, value)
        except Exception as exc:
            if key not in (conf or {}):
                continue  # a server that fixes one of odibi's defaults keeps its own
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(
                f"the Spark Connect session at {url} refused the setting '{key}': {first[:300]}",
                hint="static settings (memory, master, jars) belong to the server's own configuration",
            ) from None


def stop_remote_sessions() -> None:
    """Release every Spark Connect session odibi opened (the servers keep running)."""
    sessions = list(_REMOTE.values())
    _REMOTE.clear()
    for session in sessions:
        _release(session)


def _python() -> str:
    import sys

    return sys.executable


def is_connect(obj: Any) -> bool:
    """Is ``obj`` (a session or DataFrame) a Spark Connect one, with no JVM in this process?"""
    return type(obj).__module__.startswith("pyspark.sql.connect.")


def _alive(session) -> bool:
    try:
        if is_connect(session):
            return not session.is_stopped
        return session.sparkContext._jsc is not None
    except Exception:
        return False


def _stop_shared() -> None:
    global _SHARED
    if _SHARED is not None:
        with contextlib.suppress(Exception):
            _SHARED.stop()
        _SHARED = None
