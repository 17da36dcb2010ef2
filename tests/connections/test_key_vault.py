"""auth_mode key_vault: the account key comes from Key Vault, fetched once per run, in parallel for
every connection, with a timeout, never at validate; the storage itself is real (Azurite).

Key Vault cannot be emulated here (no emulator exists; the real service needs Azure AD): the SDK
boundary is replaced. ``azure.identity.DefaultAzureCredential`` and ``azure.keyvault.secrets.SecretClient``
are swapped for fakes that record their calls and hand out Azurite's account keys, so odibi's own code
(which vault URL it builds, when and how often it asks, what it does with failures) runs unchanged.
"""

from __future__ import annotations

import textwrap
import threading
import time
import uuid

import pytest

from odibi import api


class _Vaults:
    """The fake SDK: vault URL -> {secret name -> value}, with a delay and a record of every call."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, str]] = {}
        self.delay = 0.0
        self.calls: list[tuple[str, str, float]] = []
        self.credentials = 0
        self.lock = threading.Lock()

    def install(self, monkeypatch) -> None:
        vaults = self

        class FakeCredential:
            def __init__(self, **kwargs) -> None:
                with vaults.lock:
                    vaults.credentials += 1

        class FakeSecret:
            def __init__(self, value: str) -> None:
                self.value = value

        class FakeSecretClient:
            def __init__(self, vault_url: str, credential, **kwargs) -> None:
                assert isinstance(credential, FakeCredential)
                self.vault_url = vault_url

            def get_secret(self, name: str) -> FakeSecret:
                with vaults.lock:
                    vaults.calls.append((self.vault_url, name, time.perf_counter()))
                time.sleep(vaults.delay)
                try:
                    return FakeSecret(vaults.secrets[self.vault_url][name])
                except KeyError:
                    raise RuntimeError(
                        f"(SecretNotFound) A secret with (name/id) {name} was not found"
                    ) from None

        import azure.identity
        import azure.keyvault.secrets

        monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
        monkeypatch.setattr(azure.keyvault.secrets, "SecretClient", FakeSecretClient)


PROJECT = """
project: kv
connections:
  one:
    type: azure_adls
    account: acctone
    container: {c1}
    auth_mode: key_vault
    key_vault_name: vault-one
    secret_name: acctone-key
    account_url: {url1}
  two:
    type: azure_adls
    account: accttwo
    container: {c2}
    auth_mode: key_vault
    key_vault_name: vault-two
    secret_name: accttwo-key
    account_url: {url2}
pipelines:
  - pipeline: p
    nodes:
      - {{name: a, read: {{connection: one, path: in.csv}}, write: {{connection: two, path: out/a.csv}}}}
      - {{name: b, read: {{connection: one, path: in.csv}}, write: {{connection: one, path: out/b.csv}}}}
      - {{name: c, read: {{connection: two, path: out/a.csv}}, depends_on: [a]}}
"""


@pytest.fixture
def vaults(azurite, tmp_path, monkeypatch):
    from azure.storage.blob import BlobServiceClient

    c1, c2 = f"kv{uuid.uuid4().hex[:10]}", f"kv{uuid.uuid4().hex[:10]}"
    azurite.make_container("acctone", c1)
    azurite.make_container("accttwo", c2)
    with BlobServiceClient.from_connection_string(azurite.connection_string("acctone")) as client:
        client.get_blob_client(c1, "in.csv").upload_blob(b"id\n1\n2\n")
    fake = _Vaults()
    fake.secrets = {
        "https://vault-one.vault.azure.net": {"acctone-key": azurite.accounts["acctone"]},
        "https://vault-two.vault.azure.net": {"accttwo-key": azurite.accounts["accttwo"]},
    }
    fake.install(monkeypatch)
    cfg = tmp_path / "odibi.yaml"
    cfg.write_text(
        textwrap.dedent(
            PROJECT.format(
                c1=c1, c2=c2, url1=azurite.account_url("acctone"), url2=azurite.account_url("accttwo")
            )
        ).lstrip()
    )
    return fake, cfg, azurite


def test_secrets_are_fetched_once_per_connection_in_parallel_and_the_run_works(vaults):
    fake, cfg, _azurite = vaults
    fake.delay = 0.6
    result = api.run_project(cfg)
    assert result.ok, result.to_dict()
    assert sorted((url, name) for url, name, _ in fake.calls) == [
        ("https://vault-one.vault.azure.net", "acctone-key"),
        ("https://vault-two.vault.azure.net", "accttwo-key"),
    ]  # once each, for three nodes
    starts = [at for _, _, at in fake.calls]
    assert abs(starts[0] - starts[1]) < fake.delay  # the second did not wait for the first
    assert {n.node: n.rows for n in result.nodes}["c"] == 2


def test_validate_and_compile_never_ask_key_vault(vaults):
    fake, cfg, _ = vaults
    api.validate(cfg)
    api.compile_project(cfg)
    assert fake.calls == [] and fake.credentials == 0


def test_a_missing_secret_fails_the_nodes_that_use_it_and_no_other(vaults):
    fake, cfg, _ = vaults
    del fake.secrets["https://vault-two.vault.azure.net"]["accttwo-key"]
    result = api.run_project(cfg)
    status = {n.node: (n.status, n.error or "") for n in result.nodes}
    assert status["b"][0] == "success"  # uses only `one`
    assert status["a"][0] == "failed" and "Key Vault 'vault-two'" in status["a"][1]
    assert "accttwo-key" in status["a"][1] and "SecretNotFound" in status["a"][1]
    assert status["c"][0] == "skipped"


def test_a_slow_vault_times_out_with_a_clear_error(vaults, monkeypatch):
    from odibi.connections import resolve

    fake, cfg, _ = vaults
    fake.delay = 3.0
    monkeypatch.setattr(resolve, "SECRET_TIMEOUT_S", 0.5)
    monkeypatch.setattr(resolve.OpenConnections.prepare, "__defaults__", (0.5,))
    started = time.perf_counter()
    result = api.run_project(cfg)
    assert time.perf_counter() - started < 2.9  # did not wait for the vault
    errors = {n.node: n.error or "" for n in result.nodes}
    assert "not fetched within 0.5 s" in errors["a"] and "not fetched within 0.5 s" in errors["b"]


def test_a_fetched_key_never_appears_in_output(vaults):
    fake, cfg, azurite = vaults
    from typer.testing import CliRunner

    from odibi.cli.app import app

    del fake.secrets["https://vault-two.vault.azure.net"]["accttwo-key"]  # a failure, with --debug
    fake.secrets["https://vault-one.vault.azure.net"]["acctone-key"] = azurite.accounts["acctone"]
    result = CliRunner().invoke(app, ["--debug", "run", str(cfg)])
    assert result.exit_code == 1, result.output
    assert "vault-two" in result.output
    assert azurite.accounts["acctone"] not in result.output


def test_describe_names_the_vault_not_the_key(vaults):
    fake, cfg, azurite = vaults
    from odibi.config.project import load_project

    project = load_project(cfg)
    conn = project.config.connections["one"].open("one", project.root)
    described = conn.describe()
    assert described["auth"].startswith("key_vault (secret acctone-key in vault-one)")
    assert fake.calls == []  # describing fetches nothing
    assert conn.check().ok
    assert azurite.accounts["acctone"] not in str(described)
