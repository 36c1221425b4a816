"""The provisioners by kind, built from the settings."""

from __future__ import annotations

from mcphost.integrations.base import Provisioner
from mcphost.integrations.postgres import PostgresProvisioner
from mcphost.integrations.redis import RedisProvisioner
from mcphost.settings.integrations import IntegrationSettings

KINDS = ("postgres", "redis", "s3")


def provisioners(settings: IntegrationSettings) -> dict[str, Provisioner]:
    from mcphost.integrations.s3 import S3Provisioner

    timeout = settings.timeout_seconds
    return {
        "postgres": PostgresProvisioner(settings.postgres, timeout),
        "redis": RedisProvisioner(settings.redis, timeout),
        "s3": S3Provisioner(settings.s3, timeout),
    }
