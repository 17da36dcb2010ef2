"""Azure SQL Database / SQL Server: tables and queries (config only for now, like ``sql``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from odibi.connections.base import ConnectionConfig
from odibi.connections.sql import SqlDatabase


class AzureSqlConnection(ConnectionConfig):
    """Azure SQL Database / SQL Server."""

    kind = "sql"
    type: Literal["azure_sql"] = Field(description="Azure SQL Database or SQL Server.")
    server: str = Field(description="Server host, e.g. x.database.windows.net.")
    database: str = Field(description="Database name.")
    port: int = Field(1433, description="TCP port.")
    driver: str = Field("ODBC Driver 18 for SQL Server", description="ODBC driver name.")
    auth_mode: Literal["sql", "aad_msi", "aad_password", "aad_service_principal", "key_vault"] = Field(
        "sql", description="Authentication mode."
    )
    username: str | None = Field(None, description="User name (sql, aad_password).")
    password: SecretStr | None = Field(None, description="Password; use ${ENV_VAR}.")
    key_vault_name: str | None = Field(None, description="Key Vault holding the password (key_vault).")
    secret_name: str | None = Field(None, description="Name of the Key Vault secret (key_vault).")

    def open(self, name: str, project_root: Path) -> SqlDatabase:
        return SqlDatabase(name, self.type, f"{self.server}/{self.database}")
