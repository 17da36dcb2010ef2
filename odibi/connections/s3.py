"""Amazon S3 and S3-compatible stores (MinIO, moto, Ceph) through s3fs; Spark through s3a.

Credentials: ``access_key_id`` + ``secret_access_key`` (put them in ``${ENV_VARS}``), a named
``profile``, or, with neither, the environment's default chain (AWS_* variables, instance roles).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr

from odibi.connections.base import ConnectionConfig
from odibi.connections.object_store import ObjectStore


class S3Connection(ConnectionConfig):
    """Amazon S3 (or an S3-compatible store)."""

    type: Literal["s3"] = Field(description="Amazon S3.")
    bucket: str = Field(description="Bucket name.")
    path_prefix: str = Field("", description="Prefix prepended to every path.")
    region: str | None = Field(None, description="AWS region.")
    endpoint_url: str | None = Field(
        None,
        description="Custom endpoint (S3-compatible stores: MinIO, on-premise).",
        examples=["http://localhost:9000"],
    )
    access_key_id: SecretStr | None = Field(None, description="Access key id; use ${ENV_VAR}.")
    secret_access_key: SecretStr | None = Field(None, description="Secret key; use ${ENV_VAR}.")
    session_token: SecretStr | None = Field(
        None, description="Session token (temporary credentials); use ${ENV_VAR}."
    )
    profile: str | None = Field(None, description="Named profile of ~/.aws/credentials.")

    def open(self, name: str, project_root: Path) -> S3Bucket:
        return S3Bucket(name, self, project_root)

    def root_text(self) -> str:
        return f"s3://{self.bucket}/{self.path_prefix}".rstrip("/")


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


class S3Bucket(ObjectStore):
    """An S3 bucket (and prefix) opened for a run."""

    scheme = "s3"
    delta_scheme = "s3"
    package = "s3fs"
    extra = "aws"

    def __init__(self, name: str, config: S3Connection, project_root: Path) -> None:
        super().__init__(name, config.type, config.bucket, config.path_prefix, project_root)
        self.config = config

    def storage_options(self) -> dict[str, Any]:
        c = self.config
        options: dict[str, Any] = {}
        if c.access_key_id is not None:
            options["key"] = _secret(c.access_key_id)
            options["secret"] = _secret(c.secret_access_key)
        if c.session_token is not None:
            options["token"] = _secret(c.session_token)
        if c.profile:
            options["profile"] = c.profile
        if c.endpoint_url:
            options["endpoint_url"] = c.endpoint_url
        if c.region:
            options["client_kwargs"] = {"region_name": c.region}
        return options

    def make_filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options())

    def delta_storage_options(self) -> dict[str, str]:
        """delta-rs's S3 keys. delta-rs (1.x) commits each log entry with a conditional PUT
        (``If-None-Match``), so no locking provider (DynamoDB) nor ``aws_s3_allow_unsafe_rename`` is
        needed where the store honours conditional writes (AWS S3 since 2024, moto).
        https://delta-io.github.io/delta-rs/integrations/object-storage/s3/"""
        c = self.config
        options: dict[str, str] = {}
        if c.access_key_id is not None:
            options["aws_access_key_id"] = _secret(c.access_key_id) or ""
            options["aws_secret_access_key"] = _secret(c.secret_access_key) or ""
        if c.session_token is not None:
            options["aws_session_token"] = _secret(c.session_token) or ""
        if c.profile:
            options["aws_profile"] = c.profile
        if c.region:
            options["aws_region"] = c.region
        if c.endpoint_url:
            options["aws_endpoint_url"] = c.endpoint_url
            if c.endpoint_url.startswith("http://"):
                options["aws_allow_http"] = "true"
        return options

    def spark_conf(self) -> dict[str, str]:
        c = self.config
        conf: dict[str, str] = {}
        prefix = f"fs.s3a.bucket.{c.bucket}."  # per-bucket settings: several S3 connections at once
        if c.access_key_id is not None:
            conf[prefix + "access.key"] = _secret(c.access_key_id) or ""
            conf[prefix + "secret.key"] = _secret(c.secret_access_key) or ""
            provider = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
            if c.session_token is not None:
                conf[prefix + "session.token"] = _secret(c.session_token) or ""
                provider = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
            conf[prefix + "aws.credentials.provider"] = provider
        elif c.profile:
            conf[prefix + "aws.credentials.provider"] = (
                "software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider"
            )
        if c.endpoint_url:
            conf[prefix + "endpoint"] = c.endpoint_url
            conf[prefix + "path.style.access"] = "true"
            conf[prefix + "connection.ssl.enabled"] = str(c.endpoint_url.startswith("https")).lower()
        if c.region:
            conf[prefix + "endpoint.region"] = c.region
        return conf

    def spark_uri(self, location: str) -> str:
        return "s3a://" + self.key(location)

    def auth_text(self) -> str:
        c = self.config
        if c.access_key_id is not None:
            return "access key (from the config)"
        if c.profile:
            return f"profile {c.profile}"
        return "environment (default credential chain)"
