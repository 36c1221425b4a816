"""Package sources on Docker: an image per PyPI or npm package version, built from ``builds.python_image`` (uv when
the image has it, else pip) or ``builds.node_image`` (npm, lifecycle scripts off), tagged
``mcphost-pkg/<registry>/<name>:<version>`` and reused by every server of that version. The newest version is looked
up on the registry when the source names none (the newest cached image when the registry cannot be asked).

The image lists the programs its packages install (``/opt/mcphost/programs.json``, written at build time); the
source's ``bin`` (or the package's only, or eponymous, program) is what runs — never an interpreter with code in its
arguments (the source schema refuses that)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
from docker.errors import DockerException

from mcphost.runtimes.base import Artifact, PrepareFailed, Progress
from mcphost.runtimes.docker import images
from mcphost.runtimes.docker.engine import Engine
from mcphost.runtimes.package_source import VERSION, PackageSource, normalize_pypi
from mcphost.settings import BuildSettings

__all__ = ["PackageImages", "package_tag"]

ENV = "/opt/mcphost/env"
PROGRAMS = "/opt/mcphost/programs.json"
LABEL_PACKAGE = "org.mcphost.package"
LABEL_VERSION = "org.mcphost.package-version"
_LOOKUP_TIMEOUT = 20.0

UserFor = Callable[[str, str, Progress], Awaitable[str]]

# The programs of the environment's distributions: {program: distribution name}.
_PYPI_PROGRAMS = (
    "import json, importlib.metadata as m; "
    "found = {e.name: d.metadata['Name'] for d in m.distributions() for e in d.entry_points"
    " if e.group == 'console_scripts'}; "
    f"json.dump(found, open('{PROGRAMS}', 'w'))"
)
# The package's own programs: {program: path inside node_modules}.
_NPM_PROGRAMS = (
    "const fs = require('fs'); const name = process.argv[1];"
    f" const dir = '{ENV}/node_modules/' + name;"
    " const manifest = JSON.parse(fs.readFileSync(dir + '/package.json'));"
    " let bin = manifest.bin || {}; if (typeof bin === 'string') bin = {[name.split('/').pop()]: bin};"
    " const out = {}; for (const [k, v] of Object.entries(bin)) out[k] = require('path').join(dir, v);"
    f" fs.writeFileSync('{PROGRAMS}', JSON.stringify(out));"
)


def package_tag(registry: str, name: str, version: str) -> str:
    """``mcphost-pkg/pypi/<name>:<version>`` (npm scopes become a path part; a tag allows no ``+``)."""
    repository = normalize_pypi(name) if registry == "pypi" else name.lstrip("@").lower()
    repository = re.sub(r"[^a-z0-9/._-]+", "-", repository)
    return f"mcphost-pkg/{registry}/{repository}:{re.sub(r'[^A-Za-z0-9_.-]', '_', version)[:128]}"


class PackageImages:
    """Builds (once) and describes the image of a package version."""

    def __init__(self, engine: Engine, settings: BuildSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._locks: dict[str, asyncio.Lock] = {}

    async def prepare(
        self, source: dict[str, Any], progress: Progress, *, user: UserFor, shell: Callable[[str], Awaitable[bool]]
    ) -> Artifact:
        package = PackageSource.parse(source)
        registry, name, version, program, args = (
            package.registry, package.name, package.version, package.program, package.args
        )  # fmt: skip
        if version is None:
            version = await self._newest(registry, name, progress)
        tag = package_tag(registry, name, version)
        cached = True
        async with self._locks.setdefault(tag, asyncio.Lock()):
            inspection = None if source.get("refresh") else await images.local_image(self.engine, tag)
            if inspection is None:
                cached = False
                await self._build(registry, name, version, tag, progress)
                inspection = await images.local_image(self.engine, tag)
                if inspection is None:
                    raise PrepareFailed(f"the image {tag} is missing after its build")
            else:
                await progress(f"using the cached image {tag}")
        facts = images.image_facts(inspection, tag)
        programs = await self._programs(tag)
        chosen = _choose(registry, name, program, programs)
        argv = ["node", chosen] if registry == "npm" else [chosen]
        return Artifact(
            argv=(*argv, *args),
            image=facts.id,
            details={
                "registry_type": registry, "identifier": name, "version": version, "image": tag,
                "image_id": facts.id, "digest": facts.digest, "program": chosen.rsplit("/", 1)[-1],
                "cached": cached, "engine": "node" if registry == "npm" else "python",
                "user": await user(facts.id, facts.user, progress), "working_dir": "/data",
                "shell": await shell(facts.id), **facts.command,
            },
        )  # fmt: skip

    # the newest version

    async def _newest(self, registry: str, name: str, progress: Progress) -> str:
        await progress(f"looking up the newest version of {name} on {'PyPI' if registry == 'pypi' else 'npm'}")
        try:
            return await _lookup(registry, name)
        except PrepareFailed as exc:
            cached = await self._newest_cached(registry, name)
            if cached is None:
                raise
            await progress(f"{exc}; using the cached version {cached}")
            return cached

    async def _newest_cached(self, registry: str, name: str) -> str | None:
        repository = package_tag(registry, name, "x").rsplit(":", 1)[0]
        try:
            found = await self.engine.run(self.engine.api.images, name=repository)
        except DockerException:
            return None
        found.sort(key=lambda image: image.get("Created", 0), reverse=True)
        for image in found:
            version = (image.get("Labels") or {}).get(LABEL_VERSION)
            if version:
                return str(version)
        return None

    # building

    async def _build(self, registry: str, name: str, version: str, tag: str, progress: Progress) -> None:
        if registry == "pypi":
            base = self.settings.python_image
            requirement = f"{name}=={version}"
            install = (
                f'if command -v uv >/dev/null; then uv venv {ENV} && uv pip install --python {ENV}/bin/python "$PKG"; '
                f'else python3 -m venv {ENV} && {ENV}/bin/pip install --no-cache-dir "$PKG"; fi'
            )
            programs = f'{ENV}/bin/python -c "{_PYPI_PROGRAMS}"'
        else:
            base = self.settings.node_image
            requirement = f"{name}@{version}"
            install = (
                f"mkdir -p {ENV} && npm install --prefix {ENV} --save-exact --ignore-scripts --no-audit --no-fund "
                '--no-update-notifier --loglevel warn "$PKG"'
            )
            programs = f'node -e "{_NPM_PROGRAMS}" "{name}"'
        # The package's name and version are validated above (no quotes, no shell syntax) and passed in ARG.
        dockerfile = "\n".join(
            [
                f"FROM {base}",
                f"ARG PKG={requirement}",
                "USER root",
                f"RUN {install} && {programs}",
                f'LABEL {LABEL_PACKAGE}="{registry}:{name}" {LABEL_VERSION}="{version}"',
                f"ENV PATH={ENV}/bin:{ENV}/node_modules/.bin:/usr/local/bin:/usr/bin:/bin",
                "WORKDIR /data",
            ]
        )
        await progress(f"building the image {tag} ({name} {version} from {registry}, on {base})")

        def start() -> Iterator[dict[str, Any]]:
            stream: Iterator[dict[str, Any]] = self.engine.api.build(
                fileobj=io.BytesIO(dockerfile.encode()),
                tag=tag,
                rm=True,
                forcerm=True,
                decode=True,
                pull=False,
                labels={LABEL_PACKAGE: f"{registry}:{name}", LABEL_VERSION: version},
            )
            return stream

        try:
            async with asyncio.timeout(self.settings.build_timeout_seconds):
                await images.stream_json(self.engine, start, progress, what=f"installing {name} {version}")
        except TimeoutError:
            raise PrepareFailed(
                f"building the image of {name} {version} took longer than {self.settings.build_timeout_seconds:g} s "
                "(docker.build_timeout_seconds)"
            ) from None
        await progress(f"built {tag}")

    async def _programs(self, tag: str) -> dict[str, str]:
        raw = await images.read_file(self.engine, tag, PROGRAMS)
        try:
            found = json.loads(raw or b"{}")
        except ValueError:
            found = {}
        return {str(key): str(value) for key, value in found.items()} if isinstance(found, dict) else {}


async def _lookup(registry: str, name: str) -> str:
    """The newest version on PyPI (JSON API) or npm (the ``latest`` dist-tag)."""
    if registry == "pypi":
        url, what = f"https://pypi.org/pypi/{urllib.parse.quote(name)}/json", "PyPI"
    else:
        url, what = f"https://registry.npmjs.org/{urllib.parse.quote(name, safe='@')}/latest", "npm"
    try:
        async with httpx.AsyncClient(timeout=_LOOKUP_TIMEOUT, follow_redirects=True) as http:
            response = await http.get(url)
    except httpx.HTTPError as exc:
        raise PrepareFailed(f"could not ask {what} for the newest version of {name}: {exc}") from None
    if response.status_code == 404:
        raise PrepareFailed(f"{name} is not on {what}")
    if response.status_code >= 400:
        raise PrepareFailed(f"{what} answered HTTP {response.status_code} for {name}")
    try:
        data = response.json()
    except ValueError:
        data = {}
    version = (data.get("info") or {}).get("version") if registry == "pypi" else data.get("version")
    if not isinstance(version, str) or not VERSION.match(version):
        raise PrepareFailed(f"could not find the newest version of {name} on {what}")
    return version


def _choose(registry: str, name: str, wanted: str | None, programs: dict[str, str]) -> str:
    """The program to run, as a path in the image."""
    if registry == "pypi":
        own = {program for program, dist in programs.items() if normalize_pypi(dist) == normalize_pypi(name)}
        paths = {program: f"{ENV}/bin/{program}" for program in programs}
        eponymous = [p for p in own if normalize_pypi(p) == normalize_pypi(name)]
    else:
        own, paths = set(programs), dict(programs)
        eponymous = [p for p in own if p == name.rsplit("/", 1)[-1]]
    if wanted is not None:
        if wanted in paths:
            return paths[wanted]
        listed = ", ".join(sorted(own or paths)) or "none"
        raise PrepareFailed(f"{name} has no program {wanted!r}; its programs: {listed}")
    if eponymous:
        return paths[eponymous[0]]
    if len(own) == 1:
        return paths[next(iter(own))]
    if not own:
        raise PrepareFailed(f"{name} installs no program to run")
    raise PrepareFailed(f"{name} has several programs ({', '.join(sorted(own))}); choose one with 'bin'")
