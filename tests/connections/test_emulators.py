"""The emulator fixtures work end to end, the way odibi uses storage: fsspec filesystems and DuckDB.

Each backend writes a CSV and a Parquet file through its fsspec filesystem, reads them back through the
same filesystem, then reads them again with DuckDB through ``register_filesystem`` (how DuckDB reads
remote paths without its httpfs/azure extensions, which it cannot download here). The two Azurite
accounts are checked to be really separate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.emulator_fixtures import AzuriteServer, GcsEmulator, MotoS3Server

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

CSV = b"id,name\n1,alpha\n2,beta\n"


def _fresh(prefix: str) -> str:
    """A new bucket/container name (3-63 lowercase letters, digits and dashes on every backend)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Store:
    """An fsspec filesystem, a writable bucket/container in it, and the URL scheme DuckDB should see."""

    fs: AbstractFileSystem
    bucket: str
    scheme: str


def _azure_store(azurite: AzuriteServer, account: str) -> Store:
    from adlfs import AzureBlobFileSystem

    container = _fresh("az")
    azurite.make_container(account, container)
    # connection_string is the only adlfs option that reaches a plain-HTTP endpoint: with account_key,
    # adlfs builds "https://{account_host}" itself.
    fs = AzureBlobFileSystem(connection_string=azurite.connection_string(account), skip_instance_cache=True)
    return Store(fs, container, "abfs")


@pytest.fixture(params=["azurite-acctone", "azurite-accttwo", "s3", "gcs"])
def store(request: pytest.FixtureRequest) -> Store:
    """One store per backend; each test gets a fresh bucket/container, so tests never see each other."""
    if request.param.startswith("azurite-"):
        return _azure_store(request.getfixturevalue("azurite"), request.param.removeprefix("azurite-"))
    if request.param == "s3":
        moto: MotoS3Server = request.getfixturevalue("moto_s3")
        bucket = _fresh("s3")
        moto.make_bucket(bucket)
        return Store(moto.filesystem(), bucket, "s3")
    import gcsfs

    gcs: GcsEmulator = request.getfixturevalue("gcs_emulator")
    bucket = _fresh("gcs")
    gcs.make_bucket(bucket)
    fs = gcsfs.GCSFileSystem(endpoint_url=gcs.endpoint_url, token="anon", skip_instance_cache=True)
    return Store(fs, bucket, "gs")


def test_csv_and_parquet_round_trip_through_fsspec(store: Store) -> None:
    fs = store.fs
    fs.pipe(f"{store.bucket}/in/people.csv", CSV)
    table = pa.table({"id": [1, 2], "name": ["alpha", "beta"]})
    pq.write_table(table, f"{store.bucket}/in/people.parquet", filesystem=fs)

    assert fs.cat(f"{store.bucket}/in/people.csv") == CSV
    assert pq.read_table(f"{store.bucket}/in/people.parquet", filesystem=fs).equals(table)
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{store.bucket}/in")) == [
        "people.csv",
        "people.parquet",
    ]


def test_duckdb_reads_through_registered_filesystem(store: Store) -> None:
    fs = store.fs
    fs.pipe(f"{store.bucket}/data/people.csv", CSV)
    pq.write_table(pa.table({"id": [1, 2, 3]}), f"{store.bucket}/data/ids.parquet", filesystem=fs)

    # No extension may be fetched here: the registered fsspec filesystem must be what serves the scheme.
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.register_filesystem(fs)
    base = f"{store.scheme}://{store.bucket}/data"
    assert con.sql(f"SELECT id, name FROM read_csv('{base}/people.csv') ORDER BY id").fetchall() == [
        (1, "alpha"),
        (2, "beta"),
    ]
    assert con.sql(f"SELECT sum(id) FROM read_parquet('{base}/ids.parquet')").fetchone() == (6,)


def test_azurite_accounts_are_separate(azurite: AzuriteServer) -> None:
    from adlfs import AzureBlobFileSystem
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
    from azure.storage.blob import BlobServiceClient

    one, two = azurite.accounts
    container = _fresh("only-in-one")
    azurite.make_container(one, container)
    fs_one = AzureBlobFileSystem(connection_string=azurite.connection_string(one), skip_instance_cache=True)
    fs_two = AzureBlobFileSystem(connection_string=azurite.connection_string(two), skip_instance_cache=True)
    fs_one.pipe(f"{container}/x.csv", CSV)

    assert container in {c.rstrip("/") for c in fs_one.ls("")}
    assert container not in {c.rstrip("/") for c in fs_two.ls("")}
    assert not fs_two.exists(f"{container}/x.csv")

    # One account's key does not open the other account.
    wrong_key = azurite.connection_string(two).replace(azurite.accounts[two], azurite.accounts[one])
    with (
        BlobServiceClient.from_connection_string(wrong_key) as client,
        pytest.raises((ClientAuthenticationError, HttpResponseError)),
    ):
        list(client.list_containers())
