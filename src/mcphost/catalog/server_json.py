"""The official MCP registry ``server.json`` format (schema 2025-12-11), validated with pydantic so that every
error names the path of the bad field (``packages.0.transport.type``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
#: Where an entry names the environment variables each user supplies for themselves (``_meta``, directly or under
#: the official registry's publisher-provided extension): a list of names of its packages' environment variables.
PER_USER_INPUTS = "org.mcphost/per-user-inputs"
PUBLISHER_PROVIDED = "io.modelcontextprotocol.registry/publisher-provided"
_VERSION_RANGE = re.compile(r"^[\^~<>=*]|[*xX](\.|$)|\s|\|\|")


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class Repository(_Model):
    url: str = Field(min_length=1, max_length=2000)
    source: str = Field(min_length=1, max_length=100)
    id: str | None = None
    subfolder: str | None = None


class Icon(_Model):
    src: str = Field(min_length=1, max_length=2000)
    mime_type: str | None = Field(None, alias="mimeType")
    sizes: list[str] | None = None
    theme: Literal["light", "dark"] | None = None


class Input(_Model):
    description: str | None = None
    is_required: bool = Field(False, alias="isRequired")
    format: Literal["string", "number", "boolean", "filepath"] = "string"
    value: str | None = None
    is_secret: bool = Field(False, alias="isSecret")
    default: str | None = None
    placeholder: str | None = None
    choices: list[str] | None = None
    variables: dict[str, Input] | None = None


class KeyValueInput(Input):
    name: str = Field(min_length=1, max_length=200)


class PositionalArgument(Input):
    type: Literal["positional"]
    value_hint: str | None = Field(None, alias="valueHint")
    is_repeated: bool = Field(False, alias="isRepeated")

    @model_validator(mode="after")
    def _value_or_hint(self) -> PositionalArgument:
        if self.value is None and self.value_hint is None:
            raise ValueError("a positional argument needs a value or a valueHint")
        return self


class NamedArgument(Input):
    type: Literal["named"]
    name: str = Field(min_length=1, max_length=200)
    is_repeated: bool = Field(False, alias="isRepeated")


Argument = Annotated[PositionalArgument | NamedArgument, Field(discriminator="type")]


class StdioTransport(_Model):
    type: Literal["stdio"]


class HttpTransport(_Model):
    type: Literal["streamable-http", "sse"]
    url: str = Field(min_length=1, max_length=2000)
    headers: list[KeyValueInput] | None = None


Transport = Annotated[StdioTransport | HttpTransport, Field(discriminator="type")]


class Package(_Model):
    registry_type: str = Field(alias="registryType", min_length=1, max_length=50)
    registry_base_url: str | None = Field(None, alias="registryBaseUrl")
    identifier: str = Field(min_length=1, max_length=500)
    version: str | None = Field(None, min_length=1, max_length=255)
    file_sha256: str | None = Field(None, alias="fileSha256", pattern=r"^[a-f0-9]{64}$")
    runtime_hint: str | None = Field(None, alias="runtimeHint")
    transport: Transport
    runtime_arguments: list[Argument] | None = Field(None, alias="runtimeArguments")
    package_arguments: list[Argument] | None = Field(None, alias="packageArguments")
    environment_variables: list[KeyValueInput] | None = Field(None, alias="environmentVariables")

    @field_validator("version")
    @classmethod
    def _exact_version(cls, value: str | None) -> str | None:
        if value is not None and (value == "latest" or _VERSION_RANGE.search(value)):
            raise ValueError("must be one exact version, not 'latest' or a range")
        return value

    @model_validator(mode="after")
    def _version_for_registries(self) -> Package:
        if self.version is None and self.registry_type in ("npm", "pypi", "nuget"):
            raise ValueError(f"{self.registry_type} packages need a version")
        return self

    def required_env(self) -> list[KeyValueInput]:
        return [v for v in self.environment_variables or [] if v.is_required and v.default is None and v.value is None]


class Remote(HttpTransport):
    pass


class ServerJson(_Model):
    """One server as published to the official registry."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    schema_url: str | None = Field(None, alias="$schema")
    name: str = Field(min_length=3, max_length=200, pattern=r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$")
    title: str | None = Field(None, min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=255)
    website_url: str | None = Field(None, alias="websiteUrl")
    repository: Repository | None = None
    icons: list[Icon] | None = None
    packages: list[Package] | None = None
    remotes: list[Remote] | None = None
    meta: dict[str, Any] | None = Field(None, alias="_meta")

    @field_validator("version")
    @classmethod
    def _exact_version(cls, value: str) -> str:
        if value == "latest" or _VERSION_RANGE.search(value):
            raise ValueError("must be one exact version, not 'latest' or a range")
        return value

    @model_validator(mode="after")
    def _deployable(self) -> ServerJson:
        if not self.packages and not self.remotes:
            raise ValueError("a server needs at least one entry in packages or remotes")
        declared = {v.name for p in self.packages or [] for v in p.environment_variables or []}
        unknown = [name for name in self.per_user_inputs() if name not in declared]
        if unknown:
            raise ValueError(
                f"_meta {PER_USER_INPUTS} names {', '.join(unknown)}, which no package declares in environmentVariables"
            )
        return self

    def per_user_inputs(self) -> list[str]:
        """The environment variables each user of a deployment supplies for themselves (their own token…)."""
        meta = self.meta or {}
        publisher = meta.get(PUBLISHER_PROVIDED)
        names = meta.get(PER_USER_INPUTS)
        if names is None and isinstance(publisher, dict):
            names = publisher.get(PER_USER_INPUTS)
        if names is None:
            return []
        if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
            raise ValueError(f"_meta {PER_USER_INPUTS} must be a list of environment variable names")
        return list(dict.fromkeys(names))

    def document(self) -> dict[str, Any]:
        """The entry as server.json, with the official field names and nothing unset."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=False)
