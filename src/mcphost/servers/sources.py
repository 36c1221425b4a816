"""Where a server comes from. The catalog source is resolved to the package it names when a server is created;
the others are stored as given. Commands are argument vectors, never shell strings."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_PYPI_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
_EXACT_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,99}$")
Arg = Annotated[str, Field(max_length=4096)]


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CatalogSource(_Source):
    type: Literal["catalog"]
    name: str = Field(min_length=3, max_length=200, description="The catalog entry's server.json name.")
    version: str | None = Field(None, max_length=255, description="Omit for the newest version.")


class PackageSource(_Source):
    type: Literal["package"]
    registry_type: Literal["pypi", "npm"]
    identifier: str = Field(
        min_length=1,
        max_length=214,
        pattern=r"^(@[a-z0-9][a-z0-9._~-]*/)?[A-Za-z0-9]([A-Za-z0-9._~-]*[A-Za-z0-9])?$",
        description="The package name (npm names may be scoped: @scope/name).",
    )
    version: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,99}$",
        description="An exact version; omit for the newest at install time.",
    )
    args: list[Arg] = Field(default_factory=list, max_length=100, description="Arguments after the program.")
    bin: str | None = Field(
        None, max_length=214, description="Which of the package's programs to run, when it has several."
    )

    @model_validator(mode="after")
    def _valid_names(self) -> PackageSource:
        pattern = _PYPI_NAME if self.registry_type == "pypi" else _NPM_NAME
        if not pattern.match(self.identifier):
            raise ValueError(f"{self.identifier!r} is not a valid {self.registry_type} package name")
        if self.version is not None and not _EXACT_VERSION.match(self.version):
            raise ValueError(f"version {self.version!r} must be one exact version, not a range")
        if self.bin is not None and not _NPM_NAME.match(self.bin.lower()):
            raise ValueError(f"{self.bin!r} is not a program name")
        return self


class CommandSource(_Source):
    type: Literal["command"]
    command: list[Arg] = Field(min_length=1, max_length=100, description="Program and arguments (no shell).")
    transport: Literal["stdio", "streamable-http"] = "stdio"
    url: str | None = Field(
        None,
        max_length=2000,
        description="For streamable-http: where the server listens; {port} is replaced by a free port, which "
        "is also passed as the PORT environment variable.",
    )

    @field_validator("command")
    @classmethod
    def _program_named(cls, value: list[str]) -> list[str]:
        if not value[0].strip() or "\x00" in "".join(value):
            raise ValueError("the first element must name a program")
        return value

    @model_validator(mode="after")
    def _url_for_http(self) -> CommandSource:
        if self.transport == "streamable-http" and not self.url:
            raise ValueError("a streamable-http command needs the url it listens on")
        if self.url and not self.url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ValueError("a command server must listen on the loopback interface")
        return self


class ImageSource(_Source):
    type: Literal["image"]
    image: str = Field(min_length=1, max_length=500)
    command: list[Arg] | None = Field(None, max_length=100)
    transport: Literal["stdio", "streamable-http"] = "stdio"
    port: int | None = Field(None, ge=1, le=65535)


class GitSource(_Source):
    type: Literal["git"]
    repo_url: str = Field(min_length=1, max_length=2000, pattern=r"^https://")
    branch: str | None = Field(None, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")
    subfolder: str | None = Field(None, max_length=500)


Source = Annotated[CatalogSource | PackageSource | CommandSource | ImageSource | GitSource, Field(discriminator="type")]
RunnableSource = PackageSource | CommandSource | ImageSource | GitSource
