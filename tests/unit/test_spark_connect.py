"""The Spark engine on Spark Connect (``engine_options.spark.remote``), against a real local server.

A module fixture starts the Spark Connect server that pyspark ships (``spark-connect_*.jar`` in its
jars folder) with ``spark-submit`` on a free port of 127.0.0.1, waits (bounded) until the port accepts
connections, and kills the server's process group at teardown. A small project then runs through
``odibi.api.run_project`` on that server, and its outputs must equal the DuckDB engine's.

Needs pyspark, Java and the Connect client packages (``pip install -e ".[spark]"``). Where one is
missing the tests skip with the reason, except in CI (``CI`` set), where that is a failure: CI must run
them. Other tests in the same process share a classic local session
(:func:`odibi.engines.spark.shared_session`); the Connect session is a separate client object and the
process never switches to Connect mode, so neither disturbs the other.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from odibi.api import run_project
from odibi.engines import spark as spark_mod
from odibi.engines import spark_session
from odibi.errors import EngineError

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_S = 90  # about 10 s here; slow CI machines get headroom, a hung start still ends


def _connect_missing() -> str | None:
    """Why a local Spark Connect server and client cannot run here, or None."""
    if sys.platform == "win32":
        return "the test starts the server with pyspark's bash spark-submit (not on Windows)"
    if importlib.util.find_spec("pyspark") is None:
        return 'pyspark is not installed (pip install -e ".[spark]")'
    if not spark_session._java_found():
        return "no Java runtime (Spark needs Java 17)"
    try:
        from pyspark.sql.connect.utils import check_dependencies

        check_dependencies(__name__)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f'the Spark Connect client packages are missing ({first}); pip install -e ".[spark]"'
    home = Path(importlib.util.find_spec("pyspark").origin).parent
    if not list((home / "jars").glob("spark-connect_*.jar")):
        return f"this pyspark ships no Spark Connect server jar in {home / 'jars'}"
    return None


MISSING = _connect_missing()
pytestmark = pytest.mark.spark


def need_connect() -> None:
    if MISSING is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the Spark Connect tests, but {MISSING}", pytrace=False)
    pytest.skip(MISSING)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the server's whole process group (spark-submit and its JVM), then kill it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory):
    """``sc://127.0.0.1:<port>`` of a Spark Connect server started for this module."""
    need_connect()
    import pyspark

    home = Path(pyspark.__file__).parent
    work = tmp_path_factory.mktemp("spark-connect")
    port = _free_port()
    log4j = spark_session._quiet_log4j(str(work))
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    for key in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "MASTER", "SPARK_CONF_DIR"):
        env.pop(key, None)
    conf = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(work / "warehouse"),
    }
    cmd = [str(home / "bin" / "spark-submit"), "--master", "local[2]", "--class", SERVER_CLASS]
    cmd += [
        "--driver-java-options",
        f"-Duser.timezone=UTC -Dderby.system.home={work}/derby -Dlog4j2.configurationFile=file:{log4j}",
    ]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    cmd.append("spark-internal")
    log_path = work / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work, start_new_session=True
        )
    url = f"sc://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the Spark Connect server exited with {proc.returncode}:\n{_tail(log_path)}",
                    pytrace=False,
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the Spark Connect server did not listen on {port} within {START_TIMEOUT_S} s:\n"
                    f"{_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield url
    finally:
        spark_session.stop_remote_sessions()  # release the client sessions while the server still answers
        _stop(proc)


PROJECT = """
project: connect
engine_options:
  spark:
    remote: "{url}"
    conf: {{spark.sql.shuffle.partitions: "3"}}
connections:
  d: {{type: local, base_path: ./data}}
  o: {{type: local, base_path: ./out}}
pipelines:
  - pipeline: sales
    nodes:
      - name: customers
        read: {{connection: d, path: customers.csv}}
      - name: orders
        read: {{connection: d, path: orders.csv}}
      - name: ranked
        depends_on: [orders, customers]
        transform:
          steps:
            - |
              SELECT o.order_id, c.name, c.region, o.day, o.amount,
                     ROW_NUMBER() OVER (PARTITION BY o.customer_id ORDER BY o.amount DESC, o.order_id) AS rank_in_customer,
                     SUM(o.amount) OVER (PARTITION BY c.region) AS region_total
              FROM orders AS o
              JOIN customers AS c ON o.customer_id = c.customer_id
            - SELECT * FROM df ORDER BY order_id
        write: {{connection: o, path: ranked.parquet}}
      - name: top
        depends_on: [ranked]
        transform:
          steps: ["SELECT name, region, day, amount, region_total FROM ranked WHERE rank_in_customer = 1 ORDER BY name"]
        write: {{connection: o, path: top.csv}}
"""
DATA = {
    "data/customers.csv": "customer_id,name,region\n1,Ada,north\n2,Bo,south\n3,Cy,north\n4,Di,east\n",
    "data/orders.csv": (
        "order_id,customer_id,day,amount\n"
        "10,1,2024-01-02,12.5\n11,1,2024-01-05,30\n12,2,2024-02-01,7.25\n"
        "13,3,2024-02-03,30\n14,3,,1.5\n15,2,2024-03-09,99.75\n16,9,2024-03-10,5\n"
    ),
}


def test_a_project_runs_on_spark_connect_like_on_duckdb(make_project, tmp_path, connect_url):
    cfg = make_project(PROJECT.format(url=connect_url), DATA)
    spark_run = run_project(cfg, engine="spark")  # speed is the benchmarks' business, not a test's
    assert spark_run.ok, [(n.node, n.error) for n in spark_run.nodes]
    assert {n.node: n.rows for n in spark_run.nodes if n.written} == {"ranked": 6, "top": 3}

    # it ran on the Connect server: odibi's client session to that URL, kept open after close()
    session = spark_session._REMOTE[connect_url]
    assert spark_mod.is_connect(session) and spark_mod._alive(session)
    assert session.conf.get("spark.sql.shuffle.partitions") == "3"  # the config's conf reached the server
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"

    shutil.move(tmp_path / "out", tmp_path / "out_spark")
    duck_run = run_project(cfg, engine="duckdb")
    assert duck_run.ok, [(n.node, n.error) for n in duck_run.nodes]

    for name, read in (("ranked.parquet", pd.read_parquet), ("top.csv", pd.read_csv)):
        got, want = read(tmp_path / "out_spark" / name), read(tmp_path / "out" / name)
        assert list(got.columns) == list(want.columns), name
        # values and order (both queries end with ORDER BY); integer widths differ (ROW_NUMBER is INT on
        # Spark, BIGINT on DuckDB), so dtypes are compared as kinds
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=name)
        assert [got[c].dtype.kind for c in got] == [want[c].dtype.kind for c in want], name
    assert (tmp_path / "out_spark" / "top.csv").read_text() == (tmp_path / "out" / "top.csv").read_text()


def test_engines_share_one_connect_session_per_url_and_close_keeps_it(connect_url):
    first = spark_mod.SparkEngine(remote=connect_url)
    second = spark_mod.SparkEngine(remote=connect_url, app_name="other")
    try:
        assert first.spark is second.spark
        first.define("only_first", "SELECT 1 AS x", materialize=True)
        assert first.count("only_first") == 1
        first.close()
        assert spark_mod._alive(second.spark)
        assert not second.spark.catalog.tableExists("only_first")  # close() dropped its view
        assert second.scalar("SELECT 41 + 1") == 42
    finally:
        second.close()
    own = spark_mod.SparkEngine(remote=connect_url, stop_session=True)
    assert own.spark is not second.spark
    own.close()
    assert not spark_mod._alive(own.spark) and spark_mod._alive(second.spark)


def test_a_static_setting_is_refused_with_the_reason(connect_url):
    with pytest.raises(EngineError, match=r"refused the setting 'spark\.driver\.memory'") as info:
        spark_mod.SparkEngine(remote=connect_url, conf={"spark.driver.memory": "3g"})
    assert "server" in info.value.hint


def test_no_server_at_the_url_fails_within_seconds():
    need_connect()
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"could not reach the Spark Connect server at sc://127\.0\.0\.1:"):
        spark_mod.SparkEngine(remote=f"sc://127.0.0.1:{_free_port()}")
    assert time.monotonic() - started < 20


def test_master_and_remote_exclude_each_other():
    pytest.importorskip("pyspark")
    with pytest.raises(EngineError, match="'master' and 'remote' exclude each other"):
        spark_mod.SparkEngine(master="local[1]", remote="sc://127.0.0.1:15002")
    with pytest.raises(EngineError, match="must be a Spark Connect URL"):
        spark_mod.build_remote_session("local[2]")


def test_a_session_the_server_dropped_is_replaced(connect_url):
    first = spark_mod.SparkEngine(remote=connect_url)
    old = first.spark
    first.close()
    old.client.release_session()  # the server forgets it (as after a restart or an idle timeout)
    again = spark_mod.SparkEngine(remote=connect_url)
    try:
        assert again.spark is not old
        assert again.scalar("SELECT 41 + 1") == 42
    finally:
        again.close()


def test_missing_connect_client_is_an_engine_error_naming_the_package(monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setitem(sys.modules, "grpc", None)
    with pytest.raises(EngineError, match="grpcio") as info:
        spark_mod.SparkEngine(remote="sc://127.0.0.1:15002")
    assert "odibi[spark]" in info.value.hint
