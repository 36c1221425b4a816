"""Dockerfiles for projects that bring none: Python (pyproject.toml or requirements.txt, installed with uv), Node
(package.json, npm), Go (go.mod, go build) and Rust (Cargo.toml, cargo build --release).

Every generated image works in ``/app`` (interpreted projects) or runs one binary from ``/usr/local/bin`` (compiled
ones, in the small runtime image), as the unprivileged user 10001 with ``HOME=/tmp`` (the runtime gives a read-only
root file system and a writable ``/tmp``). Base images are settings. Names read from the project end up in the
Dockerfile only JSON-quoted or after a strict check, so a project cannot add instructions.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mcphost.runtimes.base import PrepareFailed
from mcphost.settings import BuildSettings

__all__ = ["GeneratedDockerfile", "generate_dockerfile"]

USER = "10001:10001"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LOOKED_FOR = (
    "a Dockerfile, pyproject.toml or requirements.txt (Python), package.json (Node), go.mod (Go) or Cargo.toml (Rust)"
)


@dataclass(frozen=True)
class GeneratedDockerfile:
    kind: str  # python, node, go, rust
    text: str
    entry_point: str  # in words, for the build log
    warnings: tuple[str, ...] = field(default=())


def generate_dockerfile(context: Path, settings: BuildSettings, command_given: bool = False) -> GeneratedDockerfile:
    """A Dockerfile for the project in ``context``; ``PrepareFailed`` says what was looked for when none fits.
    ``command_given``: the source names the command to run, so a project without an entry point is fine."""
    kinds = [
        (kind, generator)
        for kind, markers, generator in _GENERATORS
        if any((context / marker).is_file() for marker in markers)
    ]
    if not kinds:
        raise PrepareFailed(f"no Dockerfile and no project MCP Host can build: looked for {_LOOKED_FOR}")
    kind, generator = kinds[0]
    generated = generator(context, settings, command_given)
    if len(kinds) > 1:
        others = ", ".join(other for other, _ in kinds[1:])
        warning = f"the repository also looks like a {others} project; built as {kind} (add a Dockerfile to choose)"
        generated = GeneratedDockerfile(generated.kind, generated.text, generated.entry_point,
                                        (*generated.warnings, warning))  # fmt: skip
    return generated


def _python(context: Path, settings: BuildSettings, command_given: bool) -> GeneratedDockerfile:
    pyproject = _toml(context / "pyproject.toml") if (context / "pyproject.toml").is_file() else None
    installs = []
    if (context / "requirements.txt").is_file():
        installs.append("uv pip install --no-cache --python /opt/venv/bin/python -r requirements.txt")
    if pyproject is not None and _buildable(pyproject):
        installs.append("uv pip install --no-cache --python /opt/venv/bin/python .")
    scripts = _dict(_dict(pyproject).get("project")).get("scripts") or _dict(
        _dict(_dict(pyproject).get("tool")).get("poetry")
    ).get("scripts")
    command: list[str] | None = None
    if isinstance(scripts, dict) and scripts and pyproject is not None and _buildable(pyproject):
        name = _safe(next(iter(scripts)), "a [project.scripts] name")
        command, entry = [f"/opt/venv/bin/{name}"], f"the script {name!r} of [project.scripts]"
    else:
        for candidate in ("server.py", "main.py"):
            if (context / candidate).is_file():
                command, entry = ["/opt/venv/bin/python", f"/app/{candidate}"], candidate
                break
    if command is None:
        entry = _no_entry_point(command_given, "[project.scripts] in pyproject.toml, server.py or main.py")
    lines = [
        f"FROM {settings.python_image}",
        "ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PYTHON_DOWNLOADS=never \\",
        "    UV_LINK_MODE=copy VIRTUAL_ENV=/opt/venv",
        "RUN command -v uv >/dev/null 2>&1 || pip install --no-cache-dir uv",
        "WORKDIR /app",
        "COPY . /app",
        'RUN uv venv --python "$(command -v python3)" /opt/venv' + "".join(f" \\\n    && {step}" for step in installs),
        "ENV PATH=/opt/venv/bin:$PATH HOME=/tmp",
    ]
    return _finish("python", lines, command, entry)


def _node(context: Path, settings: BuildSettings, command_given: bool) -> GeneratedDockerfile:
    try:
        package = json.loads((context / "package.json").read_text())
    except (OSError, ValueError) as error:
        raise PrepareFailed(f"package.json cannot be read: {error}") from None
    package = _dict(package)
    scripts = _dict(package.get("scripts"))
    warnings = [
        f"{lock} is not used: the project is installed with npm"
        for lock in ("yarn.lock", "pnpm-lock.yaml", "bun.lockb")
        if (context / lock).is_file()
    ]
    locked = (context / "package-lock.json").is_file() or (context / "npm-shrinkwrap.json").is_file()
    install = "npm ci" if locked else "npm install"
    if "build" in scripts:
        steps = f"{install} --include=dev && npm run build && npm prune --omit=dev"
    else:
        steps = f"{install} --omit=dev"
    command: list[str] | None = None
    bin_field = package.get("bin")
    if isinstance(bin_field, dict) and bin_field:
        name = package.get("name")
        bin_field = bin_field.get(name) if name in bin_field else next(iter(bin_field.values()))
    if isinstance(bin_field, str) and bin_field:
        command, entry = ["node", _app_path(bin_field, "bin")], f"bin {bin_field}"
    elif "start" in scripts:
        command, entry = ["npm", "start", "--silent"], "the start script (npm start)"
    elif isinstance(package.get("main"), str):
        command, entry = ["node", _app_path(package["main"], "main")], f"main {package['main']}"
    elif (context / "index.js").is_file():
        command, entry = ["node", "/app/index.js"], "index.js"
    if command is None:
        entry = _no_entry_point(command_given, "bin, a start script or main in package.json, or index.js")
    lines = [
        f"FROM {settings.node_image}",
        "ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false",
        "WORKDIR /app",
        "COPY . /app",
        f"RUN {steps}",
        "ENV HOME=/tmp",
    ]
    return _finish("node", lines, command, entry, warnings)


def _go(context: Path, settings: BuildSettings, command_given: bool) -> GeneratedDockerfile:
    package = "."
    if not any(_go_main(path) for path in context.glob("*.go")):
        commands = sorted(path.parent.name for path in context.glob("cmd/*/*.go") if _go_main(path))
        commands = sorted(set(commands))
        if len(commands) != 1:
            found = f"several under cmd/ ({', '.join(commands)})" if commands else "none"
            raise PrepareFailed(
                f"cannot tell which Go program to build: looked for package main in the module's root and in one "
                f"cmd/NAME directory, found {found}; add a Dockerfile"
            )
        package = "./cmd/" + _safe(commands[0], "a cmd/ directory name")
    build = [
        f"FROM {settings.go_image} AS build",
        "WORKDIR /src",
        "COPY . /src",
        "RUN go mod download",
        f'RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/server {package}',
    ]
    return _binary("go", build, settings, "/out/server", "server", f"the Go program {package}")


def _rust(context: Path, settings: BuildSettings, command_given: bool) -> GeneratedDockerfile:
    manifest = _toml(context / "Cargo.toml")
    bins = manifest.get("bin")
    name = None
    if isinstance(bins, list) and bins and isinstance(bins[0], dict):
        name = bins[0].get("name")
    name = name or _dict(manifest.get("package")).get("name")
    if not isinstance(name, str):
        raise PrepareFailed(
            "Cargo.toml names no package or [[bin]] (a workspace?): set the source's subdir to the crate to build, "
            "or add a Dockerfile"
        )
    name = _safe(name, "the Cargo binary name")
    locked = " --locked" if (context / "Cargo.lock").is_file() else ""
    build = [
        f"FROM {settings.rust_image} AS build",
        "WORKDIR /src",
        "COPY . /src",
        f"RUN cargo build --release{locked} --bin {name}",
    ]
    return _binary("rust", build, settings, f"/src/target/release/{name}", name, f"the Cargo binary {name!r}")


def _binary(
    kind: str, build: list[str], settings: BuildSettings, built: str, name: str, entry: str
) -> GeneratedDockerfile:
    lines = [
        *build,
        "",
        f"FROM {settings.runtime_image}",
        "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
        f"COPY --from=build {built} /usr/local/bin/{name}",
        "WORKDIR /app",
        "ENV HOME=/tmp",
    ]
    return _finish(kind, lines, [f"/usr/local/bin/{name}"], entry)


def _finish(
    kind: str, lines: list[str], command: list[str] | None, entry: str, warnings: list[str] | None = None
) -> GeneratedDockerfile:
    header = f"# Generated by MCP Host for a {kind} project (no Dockerfile in the repository)."
    body = [header, *lines, f"USER {USER}"]
    if command is not None:
        body.append(f"CMD {json.dumps(command)}")
    return GeneratedDockerfile(kind, "\n".join(body) + "\n", entry, tuple(warnings or ()))


def _no_entry_point(command_given: bool, looked_for: str) -> str:
    if not command_given:
        raise PrepareFailed(
            f"cannot tell how to start the server: looked for {looked_for}; or give the source a command"
        )
    return "the source's command"


def _go_main(path: Path) -> bool:
    try:
        head = path.read_text(errors="replace")[:20_000]
    except OSError:
        return False
    return path.name.endswith("_test.go") is False and re.search(r"^package\s+main\b", head, re.MULTILINE) is not None


def _buildable(pyproject: dict[str, Any]) -> bool:
    """A pyproject that describes a package (not only tool settings)."""
    return "project" in pyproject or "poetry" in _dict(pyproject.get("tool")) or "build-system" in pyproject


def _app_path(value: str, what: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise PrepareFailed(f"package.json's {what} {value!r} must be a path inside the project")
    return f"/app/{path.as_posix()}"


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PrepareFailed(f"{path.name} cannot be read: {error}") from None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _safe(name: str, what: str) -> str:
    if not isinstance(name, str) or not _SAFE_NAME.match(name):
        raise PrepareFailed(f"{what} {name!r} is not a plain name MCP Host can build")
    return name


_GENERATORS = (
    ("python", ("pyproject.toml", "requirements.txt"), _python),
    ("node", ("package.json",), _node),
    ("go", ("go.mod",), _go),
    ("rust", ("Cargo.toml",), _rust),
)
