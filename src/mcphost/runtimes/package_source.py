"""A package source as every runtime reads it: registry, name, exact version (None: the newest), program and
arguments, checked before anything is installed. The process runtime installs it into a shared environment, the
Docker runtime into an image; both start from this."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mcphost.runtimes.base import PrepareFailed

__all__ = ["VERSION", "PackageSource", "normalize_pypi"]

_PYPI_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
#: One exact version (no ranges): what a registry reports and what an install pins.
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,99}$")
_PROGRAM = re.compile(r"^[A-Za-z0-9@][A-Za-z0-9._@/-]{0,213}$")


def normalize_pypi(name: str) -> str:
    """A PyPI project name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PackageSource:
    registry: Literal["pypi", "npm"]
    name: str
    version: str | None
    program: str | None
    args: list[str]

    @classmethod
    def parse(cls, source: Mapping[str, Any]) -> PackageSource:
        """Read a ``package`` source; ``PrepareFailed`` says what is wrong with it."""
        registry, name = source.get("registry_type"), str(source.get("identifier", ""))
        version = str(source["version"]) if source.get("version") not in (None, "", "latest") else None
        program = str(source["bin"]) if source.get("bin") is not None else None
        if registry not in ("pypi", "npm"):
            raise PrepareFailed(f"unknown package registry {registry!r}; use pypi or npm")
        if not (_PYPI_NAME if registry == "pypi" else _NPM_NAME).match(name):
            raise PrepareFailed(f"{name!r} is not a valid {registry} package name")
        if version is not None and not VERSION.match(version):
            raise PrepareFailed(f"version {version!r} must be one exact version")
        if program is not None and not _PROGRAM.match(program):
            raise PrepareFailed(f"{program!r} is not a program name")
        return cls(registry, name, version, program, [str(arg) for arg in source.get("args") or []])
