"""Which Dockerfile a build uses: the one the source names, else the repository's own (``Dockerfile`` or
``Containerfile`` in the build context), else a generated one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from mcphost.builds.dockerfile import inspect_dockerfile
from mcphost.builds.fs import inside
from mcphost.builds.generate import generate_dockerfile
from mcphost.builds.source import GitSource
from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import BuildSettings

__all__ = ["BuildPlan", "plan_build"]

MAX_DOCKERFILE_BYTES = 256 * 1024
_DEFAULT_NAMES = ("Dockerfile", "Containerfile")


@dataclass(frozen=True)
class BuildPlan:
    dockerfile: str  # its text
    origin: str  # the repository's path of it, or "generated (python)"
    kind: str  # dockerfile, python, node, go, rust
    port: int | None
    warnings: tuple[str, ...]

    @property
    def generated(self) -> bool:
        return self.kind != "dockerfile"

    def fingerprint(self, subdir: str | None) -> str:
        """Identifies what is built from one commit: the Dockerfile's text and the build context."""
        digest = hashlib.sha256(f"{subdir or '.'}\0{self.dockerfile}".encode())
        return digest.hexdigest()[:32]


def plan_build(root: Path, context: Path, source: GitSource, settings: BuildSettings) -> BuildPlan:
    """The Dockerfile for the checkout at ``root`` with the build context ``context``."""
    path = _repository_dockerfile(root, context, source)
    if path is None:
        generated = generate_dockerfile(context, settings, command_given=bool(source.command))
        return BuildPlan(
            dockerfile=generated.text,
            origin=f"generated ({generated.kind}; starts {generated.entry_point})",
            kind=generated.kind,
            port=source.port,
            warnings=generated.warnings,
        )
    if path.stat().st_size > MAX_DOCKERFILE_BYTES:
        raise PrepareFailed(f"{_shown(root, path)} is larger than {MAX_DOCKERFILE_BYTES // 1024} KiB")
    text = path.read_text(errors="replace")
    name = _shown(root, path)
    facts = inspect_dockerfile(text, name)
    if facts.stages == 0:
        raise PrepareFailed(f"{name} has no FROM instruction")
    warnings = list(facts.warnings)
    port = source.port or facts.port
    if source.port and facts.port and source.port != facts.port:
        warnings.append(f"{name} exposes {facts.port}; the source's port {source.port} is used")
    return BuildPlan(dockerfile=text, origin=name, kind="dockerfile", port=port, warnings=tuple(warnings))


def _repository_dockerfile(root: Path, context: Path, source: GitSource) -> Path | None:
    relative_context = context.relative_to(root.resolve()) if context.is_absolute() else context
    if source.dockerfile:
        path = inside(root, (relative_context / source.dockerfile).as_posix(), "dockerfile")
        if not path.is_file():
            raise PrepareFailed(f"the dockerfile {source.dockerfile!r} is not a file of the repository")
        return path
    for name in _DEFAULT_NAMES:
        candidate = context / name
        if candidate.is_file() or candidate.is_symlink():
            return inside(root, (relative_context / name).as_posix(), "Dockerfile")
    return None


def _shown(root: Path, path: Path) -> str:
    return path.relative_to(root.resolve()).as_posix()
