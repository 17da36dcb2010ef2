"""Google Cloud Storage through gcsfs; Spark through the GCS connector (``gs://``).

``token`` is a service-account key (the JSON text, or the path of its file; use ``${ENV_VAR}``),
``anon`` for public buckets and emulators, or left out for the environment's default credentials.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr

from odibi.connections.base import ConnectionConfig
from odibi.connections.object_store import ObjectStore


class GcsConnection(ConnectionConfig):
    """Google Cloud Storage."""

    type: Literal["gcs"] = Field(description="Google Cloud Storage.")
    bucket: str = Field(description="Bucket name.")
    path_prefix: str = Field("", description="Prefix prepended to every path.")
    project: str | None = Field(None, description="GCP project.")
    token: SecretStr | None = Field(
        None, description="Service-account key (JSON text or file path; use ${ENV_VAR}), or 'anon'."
    )
    endpoint_url: str | None = Field(
        None, description="Custom endpoint (emulators, on-premise).", examples=["http://localhost:9023"]
    )

    def open(self, name: str, project_root: Path) -> GcsBucket:
        return GcsBucket(name, self, project_root)

    def root_text(self) -> str:
        return f"gs://{self.bucket}/{self.path_prefix}".rstrip("/")


class GcsBucket(ObjectStore):
    """A GCS bucket (and prefix) opened for a run."""

    scheme = "gs"
    delta_scheme = "gs"
    package = "gcsfs"
    extra = "gcp"

    def __init__(self, name: str, config: GcsConnection, project_root: Path) -> None:
        super().__init__(name, config.type, config.bucket, config.path_prefix, project_root)
        self.config = config

    def _token(self) -> Any:
        if self.config.token is None:
            return None
        text = self.config.token.get_secret_value().strip()
        if text.startswith("{"):
            return json.loads(text)  # the key itself
        return text  # a key file, 'anon', 'google_default', ...

    def storage_options(self) -> dict[str, Any]:
        c = self.config
        options: dict[str, Any] = {}
        token = self._token()
        if token is not None:
            options["token"] = token
        if c.project:
            options["project"] = c.project
        if c.endpoint_url:
            options["endpoint_url"] = c.endpoint_url
        return options

    def make_filesystem(self) -> Any:
        if self.config.endpoint_url:
            # gcsfs's default class (2025.x+) first asks Google's gRPC control API about each bucket's
            # layout, which an emulator or an on-premise store does not serve (every call stalls): the
            # plain JSON-API class is what such endpoints speak
            from gcsfs.core import GCSFileSystem
        else:
            from gcsfs import GCSFileSystem

        return GCSFileSystem(skip_instance_cache=True, **self.storage_options())

    def delta_storage_options(self) -> dict[str, str]:
        """delta-rs's GCS keys: the service-account key (JSON text or file), ``anon`` as unsigned
        requests, ``endpoint_url`` as the base URL. Not exercised here: the GCS emulator the tests run
        does not serve the XML API delta-rs speaks.
        https://docs.rs/object_store/latest/object_store/gcp/enum.GoogleConfigKey.html"""
        options: dict[str, str] = {}
        token = self._token()
        if isinstance(token, dict):
            options["google_service_account_key"] = json.dumps(token)
        elif token == "anon":
            options["google_skip_signature"] = "true"
        elif isinstance(token, str) and token not in ("google_default", "cloud", "cache"):
            options["google_service_account_path"] = token
        if self.config.endpoint_url:
            options["google_base_url"] = self.config.endpoint_url
            if self.config.endpoint_url.startswith("http://"):
                options["allow_http"] = "true"
        return options

    def spark_conf(self) -> dict[str, str]:
        c = self.config
        conf: dict[str, str] = {}
        token = self._token()
        if isinstance(token, str) and token not in ("anon", "google_default", "cloud", "cache"):
            conf["google.cloud.auth.service.account.json.keyfile"] = token
        elif isinstance(token, dict):
            conf["fs.gs.auth.service.account.email"] = str(token.get("client_email", ""))
            conf["fs.gs.auth.service.account.private.key.id"] = str(token.get("private_key_id", ""))
            conf["fs.gs.auth.service.account.private.key"] = str(token.get("private_key", ""))
        elif token == "anon":
            conf["fs.gs.auth.type"] = "UNAUTHENTICATED"
        if c.project:
            conf["fs.gs.project.id"] = c.project
        if c.endpoint_url:
            conf["fs.gs.storage.root.url"] = c.endpoint_url
        return conf

    def spark_uri(self, location: str) -> str:
        return "gs://" + self.key(location)

    def auth_text(self) -> str:
        token = self._token()
        if token is None:
            return "environment (application default credentials)"
        if token == "anon":
            return "anonymous"
        return "service-account key (from the config)"
