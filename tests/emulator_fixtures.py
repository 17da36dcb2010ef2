"""Session-scoped pytest fixtures that run real storage emulators on free local ports.

Why real servers rather than in-process mocks: odibi reads and writes through fsspec filesystems (adlfs,
s3fs, gcsfs) and through DuckDB, which talk HTTP on their own threads and event loops; only a server on a
socket sees the requests exactly as a cloud would. Each emulator is started by the tests themselves, once
per session, on a port the OS hands out, and is stopped at the end even when tests fail, so nothing has to
be running beforehand and parallel sessions don't collide.

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.emulator_fixtures"]``. Client libraries
(azure-storage-blob, boto3, moto) are imported inside the fixtures, so loading this plugin costs nothing
for a test that uses none of them. Azurite comes from npm: ``npm ci --prefix tests/emulators``.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

EMULATORS_DIR = Path(__file__).resolve().parent / "emulators"
AZURITE_BIN = EMULATORS_DIR / "node_modules" / ".bin" / "azurite-blob"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Recent gcsfs (2026.10.1 here) makes ``gcsfs.GCSFileSystem`` (and so fsspec's "gs"/"gcs") an "extended"
# class that first asks the gRPC Storage Control API for each bucket's layout, over TLS, with retries and no
# caching of failures: against the HTTP-only emulator every call stalls for minutes. The class is chosen
# when gcsfs is first imported, so the lookup is turned off here, before any test module imports gcsfs; an
# explicit setting in the environment is kept.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


def free_port() -> int:
    """A TCP port nothing listens on right now, for servers that can't be told to pick one themselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path, limit: int = 4000) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return text[-limit:] or "(no output)"


# Looked up in the parent: between fork and exec the child should do as little as possible (other threads'
# locks, e.g. the dynamic loader's, may be held forever there).
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL if pytest dies without running teardown (SIGKILL, CI timeout).

    A new session puts the server out of reach of signals sent to pytest's process group, so without this
    a killed test run would leave emulators running. Linux only; elsewhere nothing is done.
    """
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _start_server(
    name: str, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group, output to ``log``, and wait until ``port`` accepts.

    Its own session, so that stopping it also stops anything it spawned (npm's .bin shims, workers).
    Output goes to a file, not a pipe, so a chatty server can never block on a full pipe.
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"{name} exited with code {proc.returncode} before listening on {HOST}:{port}.\n"
                f"command: {' '.join(argv)}\noutput:\n{_log_tail(log)}",
                pytrace=False,
            )
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop_process(proc)
            pytest.fail(
                f"{name} did not listen on {HOST}:{port} within {STARTUP_TIMEOUT:.0f}s.\n"
                f"command: {' '.join(argv)}\noutput:\n{_log_tail(log)}",
                pytrace=False,
            )
        time.sleep(0.05)


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group, then SIGKILL it if it is still there after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=STOP_TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()  # reap


# --------------------------------------------------------------------------------------------- Azurite


@dataclass(frozen=True)
class AzuriteServer:
    """A running Azurite blob service with several storage accounts, addressed path-style by IP."""

    host: str
    port: int
    accounts: dict[str, str]  # account name -> base64 account key

    def account_url(self, account: str) -> str:
        """The blob endpoint of ``account`` (path-style: Azurite takes the account from the first segment)."""
        return f"http://{self.host}:{self.port}/{account}"

    def connection_string(self, account: str) -> str:
        """A connection string for ``account``: the one form adlfs accepts for a plain-HTTP endpoint."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={self.accounts[account]};"
            f"BlobEndpoint={self.account_url(account)};"
        )

    def make_container(self, account: str, name: str) -> None:
        """Create container ``name`` in ``account`` (fails if it exists: tests should use fresh names)."""
        from azure.storage.blob import BlobServiceClient

        with BlobServiceClient.from_connection_string(self.connection_string(account)) as client:
            client.create_container(name)


AZURITE_ACCOUNT_NAMES = ("acctone", "accttwo")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob service with two accounts (``acctone``, ``accttwo``) and random keys.

    Accounts come from ``AZURITE_ACCOUNTS`` (``name:key;name:key``), which also disables the well-known
    ``devstoreaccount1``, so a test can only reach what it was given. ``--disableTelemetry``: Azurite
    otherwise tries to send usage data out, which this network doesn't allow.
    """
    if not os.access(AZURITE_BIN, os.X_OK):
        pytest.fail(
            f"Azurite is not installed ({AZURITE_BIN} is missing): run `npm ci --prefix tests/emulators`.",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("azurite")
    (workdir / "data").mkdir()
    accounts = {name: base64.b64encode(secrets.token_bytes(64)).decode() for name in AZURITE_ACCOUNT_NAMES}
    env = {**os.environ, "AZURITE_ACCOUNTS": ";".join(f"{n}:{k}" for n, k in accounts.items())}
    port = free_port()
    argv = [
        str(AZURITE_BIN),
        "--blobHost", HOST,
        "--blobPort", str(port),
        "--location", str(workdir / "data"),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]  # fmt: skip
    proc = _start_server("azurite-blob", argv, port, workdir / "azurite.log", env)
    try:
        yield AzuriteServer(host=HOST, port=port, accounts=accounts)
    finally:
        _stop_process(proc)


# ------------------------------------------------------------------------------------------- moto (S3)


@dataclass(frozen=True)
class MotoS3Server:
    """A moto server answering S3 calls at ``endpoint_url``; it accepts any credentials."""

    endpoint_url: str
    access_key_id: str = "testing"
    secret_access_key: str = "testing"
    region: str = "us-east-1"

    def client(self):
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def filesystem(self):
        """An s3fs filesystem for this server (no instance cache: each test sees the store as it is)."""
        import s3fs

        return s3fs.S3FileSystem(
            key=self.access_key_id,
            secret=self.secret_access_key,
            endpoint_url=self.endpoint_url,
            client_kwargs={"region_name": self.region},
            skip_instance_cache=True,
        )

    def make_bucket(self, name: str) -> None:
        """Create bucket ``name`` (us-east-1, so no LocationConstraint is needed)."""
        self.client().create_bucket(Bucket=name)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3Server]:
    """moto's threaded server in this process, bound to port 0 so the OS picks a free one (no race).

    Same process: ``moto.mock_aws`` patches botocore here and moto's backends are process-wide, so a test
    that also uses ``mock_aws`` may see the two mix; keep them apart.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield MotoS3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


# ----------------------------------------------------------------------------------- GCS (fake server)


@dataclass(frozen=True)
class GcsEmulator:
    """A running gcp-storage-emulator (in memory); clients reach it with ``endpoint_url`` and no token."""

    endpoint_url: str

    def make_bucket(self, name: str) -> None:
        """Create bucket ``name`` through the JSON API (plain HTTP: no client library or event loop)."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/storage/v1/b?project=test",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    """gcp-storage-emulator from this Python's environment, as a child process on a free port."""
    gcsfs = sys.modules.get("gcsfs")
    if gcsfs is not None and gcsfs.GCSFileSystem is not gcsfs.core.GCSFileSystem:
        pytest.fail(
            "gcsfs was imported before tests.emulator_fixtures with its gRPC bucket-type lookup on, which"
            " hangs against the emulator: load the plugin first or set GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false.",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("gcs")
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gcp_storage_emulator",
        "start",
        "--host",
        HOST,
        "--port",
        str(port),
        "--in-memory",
    ]
    proc = _start_server("gcp-storage-emulator", argv, port, workdir / "gcs.log")
    try:
        yield GcsEmulator(endpoint_url=f"http://{HOST}:{port}")
    finally:
        _stop_process(proc)


# ------------------------------------------------------------------------------------------ PostgreSQL


@dataclass(frozen=True)
class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb in a temporary folder, trust auth on 127.0.0.1)."""

    port: int
    user: str = "postgres"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{HOST}:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []


def _pg_bin(name: str) -> str:
    """A server program: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    import glob
    import shutil

    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        pytest.fail(f"PostgreSQL's {name} is not installed (apt-get install postgresql)", pytrace=False)
    return candidates[-1]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """initdb + pg_ctl on a free port. PostgreSQL refuses to run as root: as root (CI), the cluster is
    made and run by the ``postgres`` user that Debian's package creates."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="odibi-pg-"))
    data, log = folder / "data", folder / "log"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, _pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {folder} -c listen_addresses={HOST} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(port)
    finally:
        subprocess.run(
            [*as_user, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)
