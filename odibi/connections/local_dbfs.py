"""A local folder standing in for Databricks DBFS, so Databricks configs run on a laptop.

``dbfs:/x`` and ``/x`` in a path name ``x`` under the connection's ``root``; everything else is a local
connection's (containment, staging, commit by rename).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from odibi.connections.base import ConnectionConfig
from odibi.connections.local import LocalFiles, folder_of


class LocalDbfsConnection(ConnectionConfig):
    """A local folder standing in for Databricks DBFS (``dbfs:/`` paths map under ``root``)."""

    type: Literal["local_dbfs"] = Field(description="Mock DBFS on the local disk, for testing.")
    root: str = Field(".dbfs", description="Local folder that plays the role of dbfs:/.")

    def open(self, name: str, project_root: Path) -> LocalFiles:
        return LocalFiles(name, self.type, folder_of(self.root, project_root), dbfs=True)

    def root_text(self) -> str:
        return self.root
