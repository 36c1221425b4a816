"""Attached services of servers: the platform's own PostgreSQL, Redis and S3-compatible storage, on which each server
that asks gets a database, a key prefix or a bucket of its own with credentials of its own."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator


class PostgresServiceSettings(BaseModel):
    """Where servers' databases are created."""

    admin_url: SecretStr | None = Field(
        None,
        description="postgresql://USER:PASSWORD@HOST:PORT/DB of a role with CREATEDB and CREATEROLE (it creates a "
        "database and a login role per server). Unset: PostgreSQL cannot be attached.",
    )
    server_host: str | None = Field(
        None,
        description="host:port servers reach this PostgreSQL at (in DATABASE_URL); unset: the admin URL's. Sandboxed "
        "servers have no host loopback: give an address they can reach.",
    )


class RedisServiceSettings(BaseModel):
    """Where servers' Redis users are created (Redis 6 or later: ACL users)."""

    admin_url: SecretStr | None = Field(
        None,
        description="redis://[USER:PASSWORD@]HOST:PORT of a user allowed ACL SETUSER/DELUSER and SCAN. Unset: Redis "
        "cannot be attached.",
    )
    server_host: str | None = Field(
        None, description="host:port servers reach this Redis at (in REDIS_URL); unset: the admin URL's."
    )
    commands: list[str] = Field(
        default_factory=lambda: [
            "+@read",
            "+@write",
            "+@keyspace",
            "+@string",
            "+@list",
            "+@hash",
            "+@set",
            "+@sortedset",
            "+@stream",
            "+@connection",
            "+@transaction",
            "-@dangerous",
        ],
        description="The ACL command rules each server's user gets (on top of nothing: -@all first); keys are "
        "limited to its own prefix whatever these say.",
    )


class S3ServiceSettings(BaseModel):
    """Where servers' buckets are created: an S3-compatible store whose IAM API (CreateUser, CreateAccessKey,
    PutUserPolicy) issues per-bucket credentials (SeaweedFS's embedded IAM; see docs/adr/0013-s3-storage.md)."""

    endpoint: str | None = Field(
        None, description="The store's S3 API, http(s)://HOST:PORT. Unset: S3 storage cannot be attached."
    )
    iam_endpoint: str | None = Field(None, description="Its IAM API; unset: the S3 endpoint (SeaweedFS serves both).")
    server_endpoint: str | None = Field(
        None, description="The S3 endpoint servers use (S3_ENDPOINT); unset: the endpoint above."
    )
    region: str = Field("us-east-1", description="The region requests are signed for.")
    access_key_id: SecretStr | None = Field(
        None, description="An admin access key of the store (creates buckets and users)."
    )
    secret_access_key: SecretStr | None = Field(None, description="Its secret key.")
    bucket_prefix: str = Field("mcphost-", description="Prefix of the buckets created for servers.")

    @field_validator("endpoint", "iam_endpoint", "server_endpoint", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value


class IntegrationSettings(BaseModel):
    """The services servers can have attached (``/api/servers/{id}/services``)."""

    postgres: PostgresServiceSettings = Field(default_factory=PostgresServiceSettings)
    redis: RedisServiceSettings = Field(default_factory=RedisServiceSettings)
    s3: S3ServiceSettings = Field(default_factory=S3ServiceSettings)
    timeout_seconds: float = Field(15.0, gt=0, description="Longest one provisioning step may take.")
