"""Where a server comes from. The catalog source is resolved to the package it names when a server is created;
the others are stored as given. Commands are argument vectors, never shell strings.

Every hosted server is untrusted code (any package runs what its author wrote): the sandbox is the boundary, not
these rules. What separates a command from a package is what it may name of this machine: a command runs any program
of the host with any host paths in its arguments, mounted read-only into its sandbox, so only administrators may
deploy one (unless ``runtime.allow_user_commands``); a package sees only its own environment, and its ``bin`` is one
of the programs it installs, never an interpreter or a shell that would run code given in its arguments."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_PYPI_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
_EXACT_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,99}$")
#: Programs that run whatever code their arguments carry: a package's ``bin`` may not be one of them.
_INTERPRETER = re.compile(
    r"^(python|pypy|pythonw)[0-9.]*(-config)?$|^(sh|bash|dash|zsh|ksh|csh|tcsh|fish|busybox|env|node|nodejs|deno|bun"
    r"|npx|npm|uv|uvx|pip[0-9.]*|perl[0-9.]*|ruby[0-9.]*|php[0-9.]*|lua[0-9.]*|tclsh[0-9.]*|awk|gawk|sudo)$"
)
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
        if self.bin is not None and _INTERPRETER.match(self.bin.lower()):
            raise ValueError(
                f"'bin' names one of the package's own programs; {self.bin!r} is an interpreter or shell, which would "
                "run any code given in 'args' (deploy a command source for that: only administrators may)"
            )
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


class RegistryAuth(_Source):
    username: str = Field(min_length=1, max_length=255, description="User name at the image's registry.")
    password: str = Field(
        min_length=1,
        max_length=4096,
        description="Password or token: encrypted when stored like secret_env, never returned.",
    )


class ImageSource(_Source):
    type: Literal["image"]
    image: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$",
        description="registry/name:tag or name@sha256:…; taken from the engine when it has it, else pulled.",
    )
    command: list[Arg] | None = Field(
        None, max_length=100, description="Arguments replacing the image's CMD (its ENTRYPOINT stays)."
    )
    transport: Literal["stdio", "streamable-http"] = "stdio"
    port: int | None = Field(
        None, ge=1, le=65535, description="streamable-http: the port it listens on (default: the image's EXPOSE)."
    )
    path: str = Field("/mcp", max_length=200, pattern=r"^/[A-Za-z0-9._~/-]*$", description="streamable-http: its path.")
    registry_auth: RegistryAuth | None = Field(
        None, description="A login for a private registry (else the one configured for it, docker.registries)."
    )

    @field_validator("image")
    @classmethod
    def _no_traversal(cls, value: str) -> str:
        if ".." in value or value.endswith((":", "@", "/")):
            raise ValueError(f"{value!r} is not an image reference such as registry/name:tag")
        return value


class GitSource(_Source):
    """A repository built into an image (its Dockerfile, or one generated for Python, Node, Go or Rust projects)."""

    type: Literal["git"]
    url: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"^(https|http|git|file)://[^\s]+$",
        description="The repository: https://… (http://, git:// and file:// only where builds.allow_git_schemes "
        "allows them).",
    )
    ref: str | None = Field(
        None,
        max_length=255,
        pattern=r"^[A-Za-z0-9._/-]+$",
        description="A branch, tag or full commit; default: the repository's default branch. Pushes to this branch "
        "redeploy (GitHub webhook).",
    )
    commit: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{40}$",
        description="A full commit to build instead of the ref's head; a rollback sets it to the commit its revision "
        "built, and the next push to the branch clears it.",
    )
    subdir: str | None = Field(
        None, max_length=500, pattern=r"^[A-Za-z0-9._/-]+$", description="The folder to build (the build context)."
    )
    dockerfile: str | None = Field(
        None, max_length=500, pattern=r"^[A-Za-z0-9._/-]+$", description="The Dockerfile, relative to subdir."
    )
    token: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="An access token for a private repository: encrypted when stored, never returned.",
    )
    transport: Literal["stdio", "streamable-http"] | None = Field(
        None, description="How the server speaks MCP (default: streamable-http when the image exposes a port)."
    )
    port: int | None = Field(None, ge=1, le=65535, description="streamable-http: its port (default: EXPOSE).")
    path: str = Field("/mcp", max_length=200, pattern=r"^/[A-Za-z0-9._~/-]*$", description="streamable-http: its path.")
    command: list[Arg] | None = Field(None, max_length=100, description="Arguments replacing the image's CMD.")

    @field_validator("subdir", "dockerfile")
    @classmethod
    def _inside(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("/") or ".." in value.split("/")):
            raise ValueError(f"{value!r} must be a path inside the repository")
        return value


Source = Annotated[CatalogSource | PackageSource | CommandSource | ImageSource | GitSource, Field(discriminator="type")]
RunnableSource = PackageSource | CommandSource | ImageSource | GitSource
