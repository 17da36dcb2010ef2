"""Azure SQL Database / SQL Server: tables and queries through ODBC (pyodbc + Microsoft's driver).

odibi builds the ODBC connection string from the config, so users never write one: server, port,
database, encryption and one of the authentication modes below. Reads and writes are those of every
SQLAlchemy database (``sql_alchemy.py``): Arrow reads, batched inserts (``fast_executemany``) and merges
in one transaction. On Spark with Microsoft's JDBC driver on the classpath (Databricks has it), the
executors read and stage over JDBC with the same authentication.

- ``sql``: ``username`` + ``password``; ``key_vault``: ``username`` + a password kept in Key Vault
  (fetched once per run, before the first node, with the other connections' secrets);
- ``aad_password``: a Microsoft Entra user and password;
- ``aad_msi``: the machine's managed identity (``client_id`` for a user-assigned one);
- ``aad_service_principal`` (or ``service_principal``): ``client_id`` + ``client_secret``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import quote_plus

from pydantic import Field, SecretStr

from odibi import secrets
from odibi.connections.base import ConnectionConfig
from odibi.connections.sql import JdbcTarget, first_line
from odibi.connections.sql_alchemy import AlchemyDatabase
from odibi.errors import NodeExecutionError

AuthMode = Literal[
    "sql", "key_vault", "aad_password", "aad_msi", "aad_service_principal", "service_principal"
]
_NEEDS: dict[str, tuple[str, ...]] = {
    "sql": ("username", "password"),
    "key_vault": ("username", "key_vault_name", "secret_name"),
    "aad_password": ("username", "password"),
    "aad_msi": (),
    "aad_service_principal": ("client_id", "client_secret"),
    "service_principal": ("client_id", "client_secret"),
}
# ODBC and JDBC names of the Entra ID authentication modes
_ODBC_AUTH = {
    "aad_password": "ActiveDirectoryPassword",
    "aad_msi": "ActiveDirectoryMsi",
    "aad_service_principal": "ActiveDirectoryServicePrincipal",
    "service_principal": "ActiveDirectoryServicePrincipal",
}
_JDBC_AUTH = {**_ODBC_AUTH, "aad_msi": "ActiveDirectoryMSI"}


def odbc_value(value: str) -> str:
    """An ODBC attribute value, braced when it holds characters the connection string would split on."""
    if any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


class AzureSqlConnection(ConnectionConfig):
    """Azure SQL Database or SQL Server, through ODBC."""

    kind = "sql"
    type: Literal["azure_sql"] = Field(description="Azure SQL Database or SQL Server.")
    server: str = Field(description="Server host, e.g. myserver.database.windows.net.")
    database: str = Field(description="Database name.")
    port: int = Field(1433, description="TCP port.")
    driver: str = Field("ODBC Driver 18 for SQL Server", description="ODBC driver name.")
    auth_mode: AuthMode = Field("sql", description="Authentication mode.")
    username: str | None = Field(None, description="User name (sql, key_vault, aad_password).")
    password: SecretStr | None = Field(None, description="Password (sql, aad_password); use ${ENV_VAR}.")
    client_id: str | None = Field(
        None, description="Application (client) id: service principal, or a user-assigned managed identity."
    )
    client_secret: SecretStr | None = Field(None, description="Service principal secret; use ${ENV_VAR}.")
    key_vault_name: str | None = Field(None, description="Key Vault holding the password (key_vault).")
    secret_name: str | None = Field(None, description="Name of the Key Vault secret (key_vault).")
    schema_name: str | None = Field(None, alias="schema", description="Default schema, e.g. dbo.")
    encrypt: bool = Field(True, description="Encrypt the connection (Azure SQL requires it).")
    trust_server_certificate: bool = Field(
        False, description="Accept a self-signed server certificate (local SQL Server only)."
    )
    timeout: int = Field(30, description="Login timeout in seconds.")

    def config_problems(self) -> list[tuple[str, str]]:
        return [
            (key, f"auth_mode {self.auth_mode} needs `{key}`")
            for key in _NEEDS[self.auth_mode]
            if getattr(self, key) is None
        ]

    def root_text(self) -> str:
        return f"{self.server}/{self.database}"

    def open(self, name: str, project_root: Path) -> AzureSqlDatabase:
        return AzureSqlDatabase(name, self)


class AzureSqlDatabase(AlchemyDatabase):
    """An Azure SQL database opened for a run: the SQLAlchemy path over ``mssql+pyodbc``."""

    def __init__(self, name: str, config: AzureSqlConnection) -> None:
        self.config = config
        self._password: str | None = None
        for value in (config.password, config.client_secret):
            if value is not None:
                secrets.register(value.get_secret_value())
        super().__init__(name, config.type, config.root_text(), url=None, schema=config.schema_name)
        self.dialect = "tsql"

    # -- secrets ----------------------------------------------------------------------------------
    def prepare(self, timeout: float = 30.0) -> None:
        """Before a run: the password from Key Vault (once)."""
        c = self.config
        if c.auth_mode != "key_vault" or self._password is not None:
            return
        from odibi.connections.azure_adls import key_vault_secret

        assert c.key_vault_name and c.secret_name
        try:
            value = key_vault_secret(c.key_vault_name, c.secret_name, timeout)
        except Exception as exc:
            raise NodeExecutionError(
                secrets.mask(
                    f"connection '{self.name}': cannot read secret '{c.secret_name}' from Key Vault "
                    f"'{c.key_vault_name}': {first_line(exc)}"
                ),
                hint="check `az login` / the managed identity and the vault's access policy (odibi doctor)",
            ) from None
        secrets.register(value)
        self._password = value

    def _secret(self) -> str | None:
        c = self.config
        if c.auth_mode == "key_vault":
            self.prepare()
            return self._password
        if c.auth_mode in ("aad_service_principal", "service_principal"):
            return c.client_secret.get_secret_value() if c.client_secret else None
        return c.password.get_secret_value() if c.password else None

    def _user(self) -> str | None:
        c = self.config
        return (
            c.client_id
            if c.auth_mode in ("aad_msi", "aad_service_principal", "service_principal")
            else c.username
        )

    # -- connection strings -----------------------------------------------------------------------
    def odbc_connection_string(self) -> str:
        """The ODBC connection string for this config (holds the secret: never log it)."""
        c = self.config
        parts = {
            "Driver": "{" + c.driver.replace("}", "}}") + "}",
            "Server": odbc_value(f"tcp:{c.server},{c.port}"),
            "Database": odbc_value(c.database),
            "Encrypt": "yes" if c.encrypt else "no",
            "TrustServerCertificate": "yes" if c.trust_server_certificate else "no",
            "Connection Timeout": str(c.timeout),
        }
        if c.auth_mode in _ODBC_AUTH:
            parts["Authentication"] = _ODBC_AUTH[c.auth_mode]
        user, secret = self._user(), self._secret()
        if user:
            parts["UID"] = odbc_value(user)
        if secret is not None:
            parts["PWD"] = odbc_value(secret)
        return ";".join(f"{k}={v}" for k, v in parts.items()) + ";"

    def _url_text(self) -> str:
        return "mssql+pyodbc:///?odbc_connect=" + quote_plus(self.odbc_connection_string())

    def _driver_hint(self) -> str:
        return (
            ' (pip install "odibi[azure-sql]"), and the unixODBC library (apt install unixodbc) with '
            f"Microsoft's '{self.config.driver}' (packages msodbcsql18)"
        )

    def _error_hint(self, text: str) -> str | None:
        if "Can't open lib" in text or "Data source name not found" in text:
            return (
                f"install Microsoft's ODBC driver '{self.config.driver}' (Debian/Ubuntu: msodbcsql18 from "
                "packages.microsoft.com), or name an installed one with `driver:`"
            )
        if "Login failed" in text or "18456" in text:
            return "check the user, the password or secret, and the server's firewall rules (odibi doctor)"
        return None

    def jdbc(self) -> JdbcTarget:
        """``jdbc:sqlserver://`` with the same authentication (Microsoft's mssql-jdbc driver)."""
        c = self.config
        url = (
            f"jdbc:sqlserver://{c.server}:{c.port};databaseName={c.database};"
            f"encrypt={'true' if c.encrypt else 'false'};"
            f"trustServerCertificate={'true' if c.trust_server_certificate else 'false'};"
            f"loginTimeout={c.timeout}"
        )
        if c.auth_mode in _JDBC_AUTH:
            url += f";authentication={_JDBC_AUTH[c.auth_mode]}"
        props: dict[str, str] = {}
        user, secret = self._user(), self._secret()
        if user:
            props["user"] = user
        if secret is not None:
            props["password"] = secret
        return JdbcTarget(url, "com.microsoft.sqlserver.jdbc.SQLServerDriver", props)

    def describe(self) -> dict[str, str]:
        c = self.config
        auth = c.auth_mode
        if c.auth_mode == "key_vault":
            auth = f"key_vault (secret {c.secret_name} in {c.key_vault_name})"
        return {"name": self.name, "type": self.type, "root": self.where, "auth": auth}
