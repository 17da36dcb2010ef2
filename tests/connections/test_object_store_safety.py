"""Safety on object stores, against the emulators: nothing outside a connection's root is read or
written, whatever the path says, and a SIGKILL during an overwrite leaves the previous object readable.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pandas as pd
import pytest
import yaml

from odibi import api
from odibi.config.project import load_project
from odibi.connections.base import PathRuleError
from odibi.engines.base import WriteSpec
from odibi.errors import ConfigError
from tests.connections.test_contract import TRAVERSAL

SECRET = "k,v\n9,do-not-read\n"


def _fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["s3", "azure_adls", "gcs"])
def store(request, tmp_path):
    """A bucket / container with the connection's root at ``lake/``, a sibling prefix ``lake-other/``
    and another bucket, each holding a secret; an fsspec filesystem to list everything."""
    kind = request.param
    bucket, other = _fresh("b"), _fresh("o")
    if kind == "s3":
        srv = request.getfixturevalue("moto_s3")
        srv.make_bucket(bucket)
        srv.make_bucket(other)
        fs = srv.filesystem()
        conn = {
            "type": "s3",
            "bucket": bucket,
            "path_prefix": "lake",
            "endpoint_url": srv.endpoint_url,
            "region": srv.region,
            "access_key_id": srv.access_key_id,
            "secret_access_key": srv.secret_access_key,
        }
    elif kind == "azure_adls":
        srv = request.getfixturevalue("azurite")
        srv.make_container("acctone", bucket)
        srv.make_container("acctone", other)
        from adlfs import AzureBlobFileSystem

        fs = AzureBlobFileSystem(connection_string=srv.connection_string("acctone"), skip_instance_cache=True)
        conn = {
            "type": "azure_adls",
            "account": "acctone",
            "container": bucket,
            "path_prefix": "lake",
            "auth_mode": "direct_key",
            "account_key": srv.accounts["acctone"],
            "account_url": srv.account_url("acctone"),
        }
    else:
        srv = request.getfixturevalue("gcs_emulator")
        srv.make_bucket(bucket)
        srv.make_bucket(other)
        from gcsfs.core import GCSFileSystem

        fs = GCSFileSystem(endpoint_url=srv.endpoint_url, token="anon", skip_instance_cache=True)
        conn = {
            "type": "gcs",
            "bucket": bucket,
            "path_prefix": "lake",
            "token": "anon",
            "endpoint_url": srv.endpoint_url,
        }
    fs.pipe_file(f"{bucket}/lake/in/a.csv", b"k,v\n1,x\n")
    fs.pipe_file(f"{bucket}/lake-other/secret.csv", SECRET.encode())
    fs.pipe_file(f"{bucket}/secret.csv", SECRET.encode())
    fs.pipe_file(f"{other}/lake/secret.csv", SECRET.encode())
    return {"kind": kind, "fs": fs, "bucket": bucket, "other": other, "conn": conn, "root": tmp_path}


def _listing(store) -> list[str]:
    fs = store["fs"]
    fs.invalidate_cache()
    return sorted([*fs.find(store["bucket"]), *fs.find(store["other"])])


def _project(store, nodes: list[dict]) -> object:
    doc = {
        "project": "t",
        "connections": {"lake": store["conn"]},
        "pipelines": [{"pipeline": "p", "nodes": nodes}],
    }
    cfg = store["root"] / "odibi.yaml"
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
    return cfg


def test_the_traversal_corpus_reads_and_writes_nothing_outside_the_root(store):
    before = _listing(store)
    for path in TRAVERSAL:
        cfg = _project(
            store,
            [
                {"name": "r", "read": {"connection": "lake", "path": path, "format": "csv"}},
                {
                    "name": "w",
                    "read": {"connection": "lake", "path": "in/a.csv"},
                    "write": {"connection": "lake", "path": path, "format": "csv"},
                },
            ],
        )
        with pytest.raises(ConfigError) as err:
            api.run_project(cfg)
        assert "node 'r' read" in str(err.value) and "node 'w' write" in str(err.value), path
    assert _listing(store) == before
    # behind validation, every request is checked against the root again
    project = load_project(
        _project(store, [{"name": "r", "read": {"connection": "lake", "path": "in/a.csv"}}])
    )
    conn = project.config.connections["lake"].open("lake", project.root)
    scheme = conn.resolve("x").split("://")[0]
    for outside in (
        f"{store['bucket']}/lake-other/secret.csv",
        f"{store['bucket']}/secret.csv",
        f"{store['other']}/lake/secret.csv",
    ):
        with pytest.raises(PathRuleError):
            conn.local_copy(f"{scheme}://{outside}")
        with pytest.raises(PathRuleError):
            conn.stage(WriteSpec(f"{scheme}://{outside}", "csv", "overwrite", connection=conn))
    conn.close()
    assert _listing(store) == before


def test_a_glob_at_the_root_sees_only_the_root(store):
    cfg = _project(
        store,
        [
            {
                "name": "all",
                "read": {"connection": "lake", "path": "**/*.csv"},
                "write": {"connection": "lake", "path": "out/all.csv"},
            },
        ],
    )
    result = api.run_project(cfg)
    assert result.ok, result.to_dict()
    fs = store["fs"]
    fs.invalidate_cache()
    text = fs.cat_file(f"{store['bucket']}/lake/out/all.csv").decode()
    assert "do-not-read" not in text and text.splitlines() == ["k,v", "1,x"]


# --------------------------------------------------------------------------- SIGKILL during an overwrite

BIG = """
project: kill
connections:
  s3:
    type: s3
    bucket: {bucket}
    path_prefix: lake
    region: us-east-1
    endpoint_url: {endpoint}
    access_key_id: ${{AWS_ACCESS_KEY_ID}}
    secret_access_key: ${{AWS_SECRET_ACCESS_KEY}}
pipelines:
  - pipeline: p
    nodes:
      - name: big
        read: {{connection: s3, path: seed.csv}}
        transform:
          steps:
            - sql: |
                SELECT s.v, r.range AS i, md5(CAST(r.range * s.v AS VARCHAR)) AS h
                FROM df AS s CROSS JOIN range(${{ROWS}}) AS r
        write: {{connection: s3, path: out/big.parquet, mode: overwrite}}
"""


def test_sigkill_during_a_remote_overwrite_leaves_the_previous_object_readable(moto_s3, tmp_path):
    """The run is a separate process killed at random points of its run; the moto server lives in the
    test process, so the store outlives every kill."""
    bucket = _fresh("kill")
    moto_s3.make_bucket(bucket)
    fs = moto_s3.filesystem()
    fs.pipe_file(f"{bucket}/lake/seed.csv", b"v\n1\n2\n3\n")
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(textwrap.dedent(BIG.format(bucket=bucket, endpoint=moto_s3.endpoint_url)).lstrip())
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": moto_s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": moto_s3.secret_access_key,
    }

    def run(rows: int, kill_after: float | None = None) -> float:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "odibi", "run", str(cfg)],
            env={**env, "ROWS": str(rows)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if kill_after is None:
            assert proc.wait(timeout=300) == 0
        else:
            time.sleep(kill_after)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        return time.perf_counter() - started

    def rows_now() -> int:
        fs.invalidate_cache()
        with fs.open(f"{bucket}/lake/out/big.parquet", "rb") as fh:
            return len(pd.read_parquet(io.BytesIO(fh.read())))

    run(10)
    assert rows_now() == 30
    big = 400_000
    duration = run(big)
    assert rows_now() == 3 * big
    run(10)
    rng = random.Random(20261202)
    seen = set()
    for _ in range(6):
        run(big, kill_after=rng.uniform(0.05, 0.95) * duration)
        seen.add(rows_now())  # readable parquet, whole: the previous output or the new one
        assert seen <= {30, 3 * big}
        fs.invalidate_cache()
        assert sorted(fs.find(bucket)) == [f"{bucket}/lake/out/big.parquet", f"{bucket}/lake/seed.csv"]
        run(10)  # back to the small output; also sweeps what the killed run staged locally
    # what the killed runs staged locally (copies, staged files) was swept by the runs after them
    assert not [p for p in (tmp_path / ".odibi" / "staging").iterdir() if p.is_dir()]
