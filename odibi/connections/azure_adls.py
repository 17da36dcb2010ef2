"""Azure Data Lake Storage Gen2 / Blob Storage through adlfs; Spark through ABFS (``abfss://``).

Several accounts may be used at once: each connection carries its own credentials (fsspec filesystems
are per connection; Spark gets ``fs.azure.account.*.<account>.dfs.core.windows.net`` keys per account).

``auth_mode``:
- ``key_vault`` (default): the account key is a Key Vault secret, fetched with
  ``DefaultAzureCredential`` once per run, before any node runs (:func:`fetch_secrets` fetches every
  connection's in parallel, with a timeout), never at ``odibi validate``.
- ``direct_key``: ``account_key`` in the config (use ``${ENV_VAR}``); warned about when the
  environment looks like production.
- ``sas``, ``connection_string``, ``service_principal`` (tenant, client id, client secret),
  ``managed_identity``.
``account_url`` (or a ``connection_string`` with its own ``BlobEndpoint``) points at another endpoint:
Azurite, sovereign clouds, private endpoints.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr

from odibi import secrets
from odibi.connections.base import ConnectionConfig
from odibi.connections.object_store import ObjectStore
from odibi.errors import NodeExecutionError

log = logging.getLogger("odibi.connections")

AuthMode = Literal[
    "key_vault", "direct_key", "sas", "connection_string", "service_principal", "managed_identity"
]

# what each auth mode needs besides account and container
_NEEDS: dict[str, tuple[str, ...]] = {
    "key_vault": ("key_vault_name", "secret_name"),
    "direct_key": ("account_key",),
    "sas": ("sas_token",),
    "connection_string": ("connection_string",),
    "service_principal": ("tenant_id", "client_id", "client_secret"),
    "managed_identity": (),
}


class AzureAdlsConnection(ConnectionConfig):
    """Azure Data Lake Storage Gen2 (abfss://); several accounts may be used at once."""

    type: Literal["azure_adls"] = Field(description="Azure Data Lake Storage Gen2.")
    account: str = Field(description="Storage account name.", examples=["mystorageacct"])
    container: str = Field(description="Container (file system) name.")
    path_prefix: str = Field("", description="Prefix prepended to every path of this connection.")
    auth_mode: AuthMode = Field(
        "key_vault",
        description="How odibi authenticates: key_vault (default), direct_key, sas, connection_string, "
        "service_principal, managed_identity.",
    )
    key_vault_name: str | None = Field(None, description="Key Vault holding the account key (key_vault).")
    secret_name: str | None = Field(None, description="Name of the Key Vault secret (key_vault).")
    account_key: SecretStr | None = Field(None, description="Account key (direct_key); use ${ENV_VAR}.")
    sas_token: SecretStr | None = Field(None, description="SAS token (sas); use ${ENV_VAR}.")
    connection_string: SecretStr | None = Field(
        None, description="Storage connection string (connection_string); use ${ENV_VAR}."
    )
    account_url: str | None = Field(
        None,
        description="Blob endpoint of the account (default https://<account>.blob.core.windows.net); "
        "for Azurite or private endpoints.",
        examples=["http://127.0.0.1:10000/devstoreaccount1"],
    )
    tenant_id: str | None = Field(None, description="Tenant (service_principal).")
    client_id: str | None = Field(
        None, description="Client id (service_principal; managed_identity: user-assigned)."
    )
    client_secret: SecretStr | None = Field(None, description="Client secret (service_principal).")

    def config_problems(self) -> list[tuple[str, str]]:
        missing = [f for f in _NEEDS[self.auth_mode] if getattr(self, f) is None]
        if missing:
            return [("auth_mode", f"auth_mode {self.auth_mode} needs {', '.join(missing)}")]
        return []

    def open(self, name: str, project_root: Path) -> AdlsContainer:
        for _, problem in self.config_problems():
            raise NodeExecutionError(f"connection '{name}': {problem}", hint="add it to the connection")
        return AdlsContainer(name, self, project_root)

    def root_text(self) -> str:
        return f"abfs://{self.container}@{self.account}/{self.path_prefix}".rstrip("/")


def looks_like_production() -> bool:
    """Databricks jobs, or an environment named prod/production (ODIBI_ENV, ENVIRONMENT, ENV)."""
    names = (os.environ.get(v, "").lower() for v in ("ODIBI_ENV", "ENVIRONMENT", "ENV"))
    return (
        any(n in ("prod", "production", "prd") for n in names) or "DATABRICKS_RUNTIME_VERSION" in os.environ
    )


def key_vault_secret(vault: str, secret: str, timeout: float) -> str:
    """A Key Vault secret's value, with ``DefaultAzureCredential`` (the SDK boundary tests replace)."""
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    url = vault if vault.startswith("https://") else f"https://{vault}.vault.azure.net"
    client = SecretClient(vault_url=url, credential=DefaultAzureCredential(), connection_timeout=timeout)
    return str(client.get_secret(secret).value)


def _parse_connection_string(text: str) -> dict[str, str]:
    parts = (p.split("=", 1) for p in text.split(";") if "=" in p)
    return {k.strip(): v.strip() for k, v in parts}


class AdlsContainer(ObjectStore):
    """An ADLS / Blob container (and prefix) of one account, opened for a run."""

    scheme = "abfs"
    delta_scheme = "az"
    package = "adlfs"
    extra = "azure"

    def __init__(self, name: str, config: AzureAdlsConnection, project_root: Path) -> None:
        super().__init__(name, config.type, config.container, config.path_prefix, project_root)
        self.config = config
        self._fetched_key: str | None = None
        self._warned = False
        if config.connection_string is not None:
            key = _parse_connection_string(config.connection_string.get_secret_value()).get("AccountKey")
            secrets.register(key)

    # -- secrets -------------------------------------------------------------------------------------
    def prepare(self, timeout: float = 30.0) -> None:
        """Before a run: fetch the account key from Key Vault (once), warn about a direct key in production."""
        c = self.config
        if c.auth_mode == "direct_key" and looks_like_production() and not self._warned:
            self._warned = True
            log.warning(
                "connection '%s' uses auth_mode direct_key in what looks like production; "
                "prefer key_vault or managed_identity",
                self.name,
            )
        if c.auth_mode != "key_vault" or self._fetched_key is not None:
            return
        assert c.key_vault_name and c.secret_name
        try:
            value = key_vault_secret(c.key_vault_name, c.secret_name, timeout)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NodeExecutionError(
                secrets.mask(
                    f"connection '{self.name}': cannot read secret '{c.secret_name}' from Key Vault "
                    f"'{c.key_vault_name}': {first}"
                ),
                hint="check `az login` / the managed identity and the vault's access policy (odibi doctor)",
            ) from None
        secrets.register(value)
        self._fetched_key = value

    def account_key(self) -> str | None:
        c = self.config
        if c.auth_mode == "key_vault":
            self.prepare()
            return self._fetched_key
        if c.auth_mode == "direct_key" and c.account_key is not None:
            return c.account_key.get_secret_value()
        if c.auth_mode == "connection_string" and c.connection_string is not None:
            return _parse_connection_string(c.connection_string.get_secret_value()).get("AccountKey")
        return None

    # -- fsspec --------------------------------------------------------------------------------------
    def storage_options(self) -> dict[str, Any]:
        c = self.config
        mode = c.auth_mode
        if mode == "connection_string":
            assert c.connection_string is not None
            return {"connection_string": c.connection_string.get_secret_value()}
        key = self.account_key() if mode in ("key_vault", "direct_key") else None
        if c.account_url and mode in ("key_vault", "direct_key", "sas"):
            # a custom endpoint (Azurite, private endpoints): adlfs reaches it through a connection string
            scheme = c.account_url.split("://")[0]
            if key is not None:
                cred = f"AccountName={c.account};AccountKey={key}"
            else:
                assert c.sas_token is not None
                cred = f"SharedAccessSignature={c.sas_token.get_secret_value().lstrip('?')}"
            return {
                "connection_string": f"DefaultEndpointsProtocol={scheme};{cred};BlobEndpoint={c.account_url};"
            }
        options: dict[str, Any] = {"account_name": c.account}
        if c.account_url:  # adlfs speaks https to account_host (service principal, managed identity)
            options["account_host"] = c.account_url.split("://", 1)[-1].split("/", 1)[0]
        if key is not None:
            options["account_key"] = key
        elif mode == "sas":
            assert c.sas_token is not None
            options["sas_token"] = c.sas_token.get_secret_value()
        elif mode == "service_principal":
            assert c.client_secret is not None
            options.update(
                tenant_id=c.tenant_id, client_id=c.client_id, client_secret=c.client_secret.get_secret_value()
            )
        elif mode == "managed_identity":
            options["anon"] = False
            if c.client_id:
                options["client_id"] = c.client_id
        return options

    def make_filesystem(self) -> Any:
        from adlfs import AzureBlobFileSystem

        return AzureBlobFileSystem(skip_instance_cache=True, **self.storage_options())

    # -- delta-rs ------------------------------------------------------------------------------------
    def delta_storage_options(self) -> dict[str, str]:
        """The object_store crate's Azure keys: account, one credential, and ``account_url`` (or the
        connection string's ``BlobEndpoint``) as the endpoint, plain HTTP allowed only when it says so.
        https://docs.rs/object_store/latest/object_store/azure/enum.AzureConfigKey.html"""
        c = self.config
        mode = c.auth_mode
        options = {"azure_storage_account_name": c.account}
        endpoint = c.account_url
        if mode == "connection_string":
            assert c.connection_string is not None
            parts = _parse_connection_string(c.connection_string.get_secret_value())
            options["azure_storage_account_name"] = parts.get("AccountName", c.account)
            if parts.get("UseDevelopmentStorage", "").lower() == "true":
                options["azure_storage_use_emulator"] = "true"
            endpoint = parts.get("BlobEndpoint") or endpoint
            if not endpoint and parts.get("EndpointSuffix"):  # sovereign clouds
                protocol = parts.get("DefaultEndpointsProtocol", "https")
                endpoint = (
                    f"{protocol}://{options['azure_storage_account_name']}.blob.{parts['EndpointSuffix']}"
                )
            if parts.get("AccountKey"):
                options["azure_storage_account_key"] = parts["AccountKey"]
            elif parts.get("SharedAccessSignature"):
                options["azure_storage_sas_token"] = parts["SharedAccessSignature"].lstrip("?")
        elif mode in ("key_vault", "direct_key"):
            options["azure_storage_account_key"] = self.account_key() or ""
        elif mode == "sas":
            assert c.sas_token is not None
            options["azure_storage_sas_token"] = c.sas_token.get_secret_value().lstrip("?")
        elif mode == "service_principal":
            assert c.client_secret is not None
            options.update(
                azure_storage_tenant_id=str(c.tenant_id),
                azure_storage_client_id=str(c.client_id),
                azure_storage_client_secret=c.client_secret.get_secret_value(),
            )
        elif c.client_id:  # managed identity (user-assigned); without it the system-assigned one
            options["azure_storage_client_id"] = c.client_id
        if endpoint:
            options["azure_storage_endpoint"] = endpoint.rstrip("/")
            if endpoint.startswith("http://"):
                options["allow_http"] = "true"
        return options

    # -- Spark ---------------------------------------------------------------------------------------
    def spark_conf(self) -> dict[str, str]:
        c = self.config
        host = f"{c.account}.dfs.core.windows.net"
        mode = c.auth_mode
        if mode in ("key_vault", "direct_key", "connection_string"):
            return {f"fs.azure.account.key.{host}": self.account_key() or ""}
        if mode == "sas":
            assert c.sas_token is not None
            return {
                f"fs.azure.account.auth.type.{host}": "SAS",
                f"fs.azure.sas.token.provider.type.{host}": "org.apache.hadoop.fs.azurebfs.sas.FixedSASTokenProvider",
                f"fs.azure.sas.fixed.token.{host}": c.sas_token.get_secret_value().lstrip("?"),
            }
        if mode == "service_principal":
            assert c.client_secret is not None
            return {
                f"fs.azure.account.auth.type.{host}": "OAuth",
                f"fs.azure.account.oauth.provider.type.{host}": (
                    "org.apache.hadoop.fs.azurebfs.oauth2.ClientCredsTokenProvider"
                ),
                f"fs.azure.account.oauth2.client.id.{host}": str(c.client_id),
                f"fs.azure.account.oauth2.client.secret.{host}": c.client_secret.get_secret_value(),
                f"fs.azure.account.oauth2.client.endpoint.{host}": (
                    f"https://login.microsoftonline.com/{c.tenant_id}/oauth2/token"
                ),
            }
        conf = {
            f"fs.azure.account.auth.type.{host}": "OAuth",
            f"fs.azure.account.oauth.provider.type.{host}": "org.apache.hadoop.fs.azurebfs.oauth2.MsiTokenProvider",
        }
        if c.client_id:
            conf[f"fs.azure.account.oauth2.client.id.{host}"] = c.client_id
        return conf

    def spark_uri(self, location: str) -> str:
        key = self.key(location)
        path = key.split("/", 1)[1] if "/" in key else ""
        return f"abfss://{self.config.container}@{self.config.account}.dfs.core.windows.net/{path}"

    def auth_text(self) -> str:
        c = self.config
        where = f" at {c.account_url}" if c.account_url else ""
        if c.auth_mode == "key_vault":
            return f"key_vault (secret {c.secret_name} in {c.key_vault_name}){where}"
        return f"{c.auth_mode}{where}"
