"""Object-store connections against real emulators: Azurite (two accounts), moto's S3 server, the GCS
emulator. Nothing here is mocked except Key Vault (test_key_vault.py says why).

A project reads CSV and parquet from two Azure accounts and from S3, joins them, and writes parquet and
CSV back to both; it runs on duckdb and pandas with identical outputs, and from the CLI with
credentials from environment variables.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import uuid

import pandas as pd
import pytest

from odibi import api

CUSTOMERS = "customer_id,name,country\n1,Ada,UK\n2,Grace,US\n3,Linus,FI\n"
PRODUCTS = "product_id,title,price\n10,Lamp,12.5\n11,Desk,80.0\n12,Chair,45.25\n"
ORDERS = pd.DataFrame(
    {
        "order_id": [100, 101, 102, 103],
        "customer_id": [1, 2, 1, 3],
        "product_id": [10, 11, 12, 12],
        "qty": [1, 2, 3, 1],
    }
)

PROJECT = """
project: cloud_join
connections:
  crm:
    type: azure_adls
    account: acctone
    container: ${CRM_CONTAINER}
    path_prefix: raw/crm
    auth_mode: connection_string
    connection_string: ${CRM_CONNECTION_STRING}
  sales:
    type: azure_adls
    account: accttwo
    container: ${SALES_CONTAINER}
    path_prefix: raw
    auth_mode: direct_key
    account_key: ${SALES_ACCOUNT_KEY}
    account_url: ${SALES_ACCOUNT_URL}
  catalog:
    type: s3
    bucket: ${CATALOG_BUCKET}
    path_prefix: ref
    region: us-east-1
    endpoint_url: ${S3_ENDPOINT}
    access_key_id: ${AWS_ACCESS_KEY_ID}
    secret_access_key: ${AWS_SECRET_ACCESS_KEY}
pipelines:
  - pipeline: join
    nodes:
      - name: customers
        read: {connection: crm, path: customers.csv}
      - name: orders
        read: {connection: sales, path: orders/*.parquet}
      - name: products
        read: {connection: catalog, path: products.csv}
      - name: order_lines
        depends_on: [customers, orders, products]
        transform:
          steps:
            - sql: |
                SELECT o.order_id, c.name, c.country, p.title, o.qty, o.qty * p.price AS amount
                FROM orders o
                JOIN customers c ON c.customer_id = o.customer_id
                JOIN products p ON p.product_id = o.product_id
        write: {connection: sales, path: "gold/${OUT}/order_lines.parquet", mode: overwrite}
      - name: by_country
        depends_on: [order_lines]
        transform:
          steps:
            - sql: SELECT country, SUM(amount) AS amount FROM order_lines GROUP BY country ORDER BY country
        write: {connection: catalog, path: "out/${OUT}/by_country.csv", mode: overwrite}
"""


def _fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cloud(azurite, moto_s3, tmp_path, monkeypatch):
    """Two Azurite accounts and an S3 bucket holding the inputs, and the env a user would set."""
    from azure.storage.blob import BlobServiceClient

    crm, sales, bucket = _fresh("crm"), _fresh("sales"), _fresh("catalog")
    azurite.make_container("acctone", crm)
    azurite.make_container("accttwo", sales)
    moto_s3.make_bucket(bucket)
    with BlobServiceClient.from_connection_string(azurite.connection_string("acctone")) as client:
        client.get_blob_client(crm, "raw/crm/customers.csv").upload_blob(CUSTOMERS.encode())
    buf = io.BytesIO()
    ORDERS.to_parquet(buf, index=False)
    with BlobServiceClient.from_connection_string(azurite.connection_string("accttwo")) as client:
        client.get_blob_client(sales, "raw/orders/part-0.parquet").upload_blob(buf.getvalue())
    s3 = moto_s3.client()
    s3.put_object(Bucket=bucket, Key="ref/products.csv", Body=PRODUCTS.encode())
    env = {
        "CRM_CONTAINER": crm,
        "CRM_CONNECTION_STRING": azurite.connection_string("acctone"),
        "SALES_CONTAINER": sales,
        "SALES_ACCOUNT_KEY": azurite.accounts["accttwo"],
        "SALES_ACCOUNT_URL": azurite.account_url("accttwo"),
        "CATALOG_BUCKET": bucket,
        "S3_ENDPOINT": moto_s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": moto_s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": moto_s3.secret_access_key,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(textwrap.dedent(PROJECT).lstrip())
    return {
        "cfg": cfg,
        "env": env,
        "s3": s3,
        "bucket": bucket,
        "sales": sales,
        "crm": crm,
        "azurite": azurite,
    }


def _sales_blob(cloud, key: str) -> bytes:
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(cloud["azurite"].connection_string("accttwo")) as client:
        return client.get_blob_client(cloud["sales"], key).download_blob().readall()


def _blob_names(cloud, account: str, container: str) -> list[str]:
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(cloud["azurite"].connection_string(account)) as client:
        return sorted(b.name for b in client.get_container_client(container).list_blobs())


def _s3_keys(cloud) -> list[str]:
    listed = cloud["s3"].list_objects_v2(Bucket=cloud["bucket"])
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_project_joins_two_azure_accounts_and_s3_identically_on_duckdb_and_pandas(cloud, monkeypatch):
    outputs = {}
    for engine in ("duckdb", "pandas"):
        monkeypatch.setenv("OUT", engine)
        result = api.run_project(cloud["cfg"], engine=engine)
        assert result.ok, result.to_dict()
        lines = pd.read_parquet(io.BytesIO(_sales_blob(cloud, f"raw/gold/{engine}/order_lines.parquet")))
        body = (
            cloud["s3"]
            .get_object(Bucket=cloud["bucket"], Key=f"ref/out/{engine}/by_country.csv")["Body"]
            .read()
        )
        outputs[engine] = (lines.sort_values("order_id").reset_index(drop=True), body.decode())
    duck, pand = outputs["duckdb"], outputs["pandas"]
    pd.testing.assert_frame_equal(duck[0], pand[0])
    assert duck[1] == pand[1]
    assert duck[0]["amount"].tolist() == [12.5, 160.0, 135.75, 45.25]
    assert duck[1].splitlines() == ["country,amount", "FI,45.25", "UK,148.25", "US,160.0"]
    # nothing but the outputs was written: no staging objects, no copies, in any store
    assert _s3_keys(cloud) == sorted(
        ["ref/products.csv", "ref/out/duckdb/by_country.csv", "ref/out/pandas/by_country.csv"]
    )
    assert [n for n in _blob_names(cloud, "accttwo", cloud["sales"]) if "gold" in n] == [
        "raw/gold/duckdb/order_lines.parquet",
        "raw/gold/pandas/order_lines.parquet",
    ]
    assert not list((cloud["cfg"].parent / ".odibi" / "staging").glob("*/*"))  # local copies removed


def test_odibi_run_from_the_cli_takes_credentials_from_the_environment(cloud):
    env = {**cloud["env"], "OUT": "cli", "PATH": __import__("os").environ["PATH"]}
    out = subprocess.run(
        [sys.executable, "-m", "odibi", "run", str(cloud["cfg"])],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout + out.stderr
    assert "order_lines" in text and "by_country" in text
    assert cloud["env"]["SALES_ACCOUNT_KEY"] not in text
    body = (
        cloud["s3"]
        .get_object(Bucket=cloud["bucket"], Key="ref/out/cli/by_country.csv")["Body"]
        .read()
        .decode()
    )
    assert body.splitlines()[0] == "country,amount"


def test_append_to_an_object_keeps_the_old_rows(cloud, monkeypatch):
    cfg = cloud["cfg"]
    cfg.write_text(
        cfg.read_text().replace('order_lines.parquet", mode: overwrite', 'order_lines.parquet", mode: append')
    )
    monkeypatch.setenv("OUT", "appended")
    for _ in range(2):
        assert api.run_project(cfg, engine="duckdb").ok
    lines = pd.read_parquet(io.BytesIO(_sales_blob(cloud, "raw/gold/appended/order_lines.parquet")))
    assert len(lines) == 2 * len(ORDERS)


def test_mode_error_refuses_an_existing_object_and_changes_nothing(cloud, monkeypatch):
    cfg = cloud["cfg"]
    monkeypatch.setenv("OUT", "once")
    assert api.run_project(cfg, engine="duckdb").ok
    before = _sales_blob(cloud, "raw/gold/once/order_lines.parquet")
    cfg.write_text(
        cfg.read_text().replace('order_lines.parquet", mode: overwrite', 'order_lines.parquet", mode: error')
    )
    result = api.run_project(cfg, engine="duckdb")
    failed = {n.node: n.error for n in result.nodes if n.status == "failed"}
    assert "output already exists" in failed["order_lines"]
    assert _sales_blob(cloud, "raw/gold/once/order_lines.parquet") == before


def test_a_missing_remote_input_fails_its_node_with_the_uri(cloud, monkeypatch):
    cfg = cloud["cfg"]
    cfg.write_text(cfg.read_text().replace("path: products.csv", "path: nope/products.csv"))
    monkeypatch.setenv("OUT", "missing")
    result = api.run_project(cfg, engine="duckdb")
    failed = {n.node: n.error for n in result.nodes if n.status == "failed"}
    assert "input not found" in failed["products"] and "/ref/nope/products.csv" in failed["products"]
    assert {n.node: n.status for n in result.nodes}["by_country"] == "skipped"


def test_wrong_credentials_fail_with_a_masked_reason(cloud, monkeypatch):
    wrong = "V3Jvbmcga2V5IGZvciB0ZXN0cyBvbmx5IQ=="
    monkeypatch.setenv("SALES_ACCOUNT_KEY", wrong)
    monkeypatch.setenv("OUT", "wrong")
    result = api.run_project(cloud["cfg"], engine="duckdb")
    failed = {n.node: n.error for n in result.nodes if n.status == "failed"}
    assert "connection 'sales'" in failed["orders"]
    assert wrong not in str(result.to_dict())
    from odibi.config.project import load_project

    project = load_project(cloud["cfg"])
    conn = project.config.connections["sales"].open("sales", project.root)
    check = conn.check()
    assert not check.ok and wrong not in check.reason
    monkeypatch.setenv("SALES_ACCOUNT_KEY", cloud["env"]["SALES_ACCOUNT_KEY"])
    project = load_project(cloud["cfg"])
    assert project.config.connections["sales"].open("sales", project.root).check().ok


# --------------------------------------------------------------------------- GCS


def test_gcs_reads_and_writes_through_the_emulator(gcs_emulator, tmp_path, monkeypatch):
    bucket = _fresh("gcsb")
    gcs_emulator.make_bucket(bucket)
    from gcsfs.core import GCSFileSystem

    fs = GCSFileSystem(endpoint_url=gcs_emulator.endpoint_url, token="anon", skip_instance_cache=True)
    fs.pipe_file(f"{bucket}/lake/in/a.csv", b"k,v\n1,x\n2,y\n")
    fs.pipe_file(f"{bucket}/lake-other/secret.csv", b"k,v\n9,secret\n")
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        project: g
        connections:
          gcs: {{type: gcs, bucket: {bucket}, path_prefix: lake, token: anon, endpoint_url: "{gcs_emulator.endpoint_url}"}}
        pipelines:
          - pipeline: p
            nodes:
              - name: a
                read: {{connection: gcs, path: "in/*.csv"}}
                transform: {{steps: [{{sql: "SELECT k * 10 AS k, v FROM df"}}]}}
                write: {{connection: gcs, path: out/a.parquet}}
        """)
    )
    for engine in ("duckdb", "pandas"):
        assert api.run_project(cfg, engine=engine).ok
        with fs.open(f"{bucket}/lake/out/a.parquet", "rb") as fh:
            assert pd.read_parquet(fh)["k"].tolist() == [10, 20]
    fs.invalidate_cache()
    assert sorted(fs.find(bucket)) == sorted(
        [f"{bucket}/lake/in/a.csv", f"{bucket}/lake/out/a.parquet", f"{bucket}/lake-other/secret.csv"]
    )


# --------------------------------------------------------------------------- Spark


def test_spark_is_given_every_accounts_settings(cloud, monkeypatch):
    """Spark reaches Azurite and moto only with the hadoop-azure / hadoop-aws jars, which cannot be
    downloaded here: this checks the settings a real local session is given (per account, per bucket),
    not a read."""
    from odibi.config.project import load_project
    from odibi.engines.spark import SparkEngine

    monkeypatch.setenv("OUT", "spark")
    project = load_project(cloud["cfg"])
    conns = {n: c.open(n, project.root) for n, c in project.config.connections.items()}
    crm, sales, catalog = (
        conns["crm"].spark_conf(),
        conns["sales"].spark_conf(),
        conns["catalog"].spark_conf(),
    )
    assert crm == {"fs.azure.account.key.acctone.dfs.core.windows.net": cloud["azurite"].accounts["acctone"]}
    assert sales == {"fs.azure.account.key.accttwo.dfs.core.windows.net": cloud["env"]["SALES_ACCOUNT_KEY"]}
    bucket = cloud["bucket"]
    assert catalog[f"fs.s3a.bucket.{bucket}.endpoint"] == cloud["env"]["S3_ENDPOINT"]
    assert catalog[f"fs.s3a.bucket.{bucket}.path.style.access"] == "true"
    assert catalog[f"fs.s3a.bucket.{bucket}.access.key"] == "testing"
    assert conns["sales"].spark_uri(conns["sales"].resolve("orders/*.parquet")) == (
        f"abfss://{cloud['sales']}@accttwo.dfs.core.windows.net/raw/orders/*.parquet"
    )
    assert (
        conns["catalog"].spark_uri(conns["catalog"].resolve("products.csv"))
        == f"s3a://{bucket}/ref/products.csv"
    )
    engine = SparkEngine()
    try:
        for conn in conns.values():
            engine.use_connection(conn)
        for key, value in {**crm, **sales, **catalog}.items():
            assert engine.spark.conf.get(key) == value
    finally:
        engine.close()


def test_remote_storage_is_what_spark_declares():
    from odibi.engines.base import Capability
    from odibi.engines.duckdb import DuckDBEngine
    from odibi.engines.pandas import PandasEngine

    assert Capability.REMOTE_STORAGE not in DuckDBEngine.capabilities
    assert Capability.REMOTE_STORAGE not in PandasEngine.capabilities
    from odibi.engines.spark import SparkEngine

    assert Capability.REMOTE_STORAGE in SparkEngine.capabilities


def test_a_malformed_remote_file_is_named_by_its_uri_and_line(cloud, monkeypatch):
    cloud["s3"].put_object(Bucket=cloud["bucket"], Key="ref/bad.csv", Body=b"a,b\n1,2\n3,4,5\n")
    cfg = cloud["cfg"]
    cfg.write_text(cfg.read_text().replace("path: products.csv", "path: bad.csv"))
    monkeypatch.setenv("OUT", "bad")
    result = api.run_project(cfg, engine="pandas")
    error = {n.node: n.error for n in result.nodes}["products"] or ""
    assert f"s3://{cloud['bucket']}/ref/bad.csv" in error and "line 3" in error, error
    assert ".odibi" not in error


def test_a_glob_that_matches_nothing_says_so(cloud, monkeypatch):
    cfg = cloud["cfg"]
    cfg.write_text(cfg.read_text().replace("path: orders/*.parquet", "path: orders/nothing-*.parquet"))
    monkeypatch.setenv("OUT", "none")
    result = api.run_project(cfg, engine="duckdb")
    error = {n.node: n.error for n in result.nodes}["orders"] or ""
    assert "no object matches abfs://" in error and "/raw/orders/nothing-*.parquet" in error


def test_upsert_into_an_object_runs_again_without_duplicates(cloud, monkeypatch):
    cfg = cloud["cfg"]
    cfg.write_text(
        cfg.read_text().replace(
            'by_country.csv", mode: overwrite', 'by_country.csv", mode: upsert, keys: [country]'
        )
    )
    monkeypatch.setenv("OUT", "upserted")
    for engine in ("duckdb", "pandas", "duckdb"):
        result = api.run_project(cfg, engine=engine)
        assert result.ok, result.to_dict()
    body = (
        cloud["s3"].get_object(Bucket=cloud["bucket"], Key="ref/out/upserted/by_country.csv")["Body"].read()
    )
    assert sorted(body.decode().splitlines()[1:]) == ["FI,45.25", "UK,148.25", "US,160.0"]
