"""Cached, shared package environments: PyPI packages through ``uv``, npm packages through ``npm``.

One environment per package version, under ``HOME/envs``::

    envs/pypi/<interpreter>/<name>/<version>/     a relocatable virtual environment
    envs/npm/<name>/<version>/                    an npm prefix (node_modules/…)
    envs/.locks/                                  one lock file per environment

Every server of the same package version shares one environment, so only the first one installs. An environment
is built in a temporary sibling directory and renamed into place when complete, so a half-built one is never
used; concurrent preparers (tasks of this process: an asyncio lock; other processes: ``flock``) wait for the first.
Installers get a scrubbed environment (never the platform's secrets) and npm lifecycle scripts are disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import Any

from mcphost.runtimes.base import Artifact, PrepareFailed, Progress
from mcphost.runtimes.package_source import VERSION, PackageSource, normalize_pypi
from mcphost.runtimes.process.sandbox import is_system_path, python_prefix

__all__ = ["PackageCache"]

_LOCK_POLL = 0.1
_MAX_PROGRESS_LINE = 500
_ERROR_LINES = 12
#: Tool output that says nothing about the package (kept out of progress and error messages).
_NOISE = ("npm warn Unknown user config", "npm error A complete log of this run", "Using Python ", "Using CPython ")
#: Variables an installer may see from the platform's environment: network, TLS, locale, tool configuration.
_INSTALLER_ENV = {
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
}  # fmt: skip
_INSTALLER_PREFIXES = ("UV_", "NPM_CONFIG_", "npm_config_")


def installer_env() -> dict[str, str]:
    """What uv and npm see: the network, TLS and tool settings of the platform's environment, none of its secrets."""
    env = {k: v for k, v in os.environ.items() if k in _INSTALLER_ENV or k.startswith(_INSTALLER_PREFIXES)}
    env.update({"NO_COLOR": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"})
    # uv trusts the system's certificate store, as npm and pip do: a TLS-inspecting proxy's CA installed there works.
    env.setdefault("UV_NATIVE_TLS", "1")
    return env


class PackageCache:
    """Installs packages into shared environments and tells how to run their programs."""

    def __init__(self, envs: Path, *, python: str | None, timeout: float) -> None:
        self.envs = envs
        self.python = python
        self.timeout = timeout
        self._locks: dict[str, asyncio.Lock] = {}

    async def prepare(self, source: Mapping[str, Any], progress: Progress) -> Artifact:
        package = PackageSource.parse(source)
        registry, name, version, program, args = (
            package.registry, package.name, package.version, package.program, package.args
        )  # fmt: skip
        await asyncio.to_thread(self._ensure_envs)
        try:
            async with asyncio.timeout(self.timeout):
                if registry == "pypi":
                    return await self._pypi(name, version, program, args, progress)
                return await self._npm(name, version, program, args, progress)
        except TimeoutError:
            raise PrepareFailed(
                f"preparing {name} took longer than {self.timeout:g} s (runtime.install_timeout_seconds)"
            ) from None

    def _ensure_envs(self) -> None:
        self.envs.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # MCP Host's home is private
        self.envs.mkdir(exist_ok=True)

    # PyPI

    async def _pypi(
        self, name: str, version: str | None, program: str | None, args: list[str], progress: Progress
    ) -> Artifact:
        python = self._interpreter()
        uv = _uv()
        key = f"{Path(python).name}-{hashlib.sha256(python.encode()).hexdigest()[:8]}"
        parent = self.envs / "pypi" / key / normalize_pypi(name)
        if version is None:
            version = await self._newest(parent, progress, "PyPI", self._pypi_newest(uv, python, name))

        async def install(target: Path) -> None:
            await progress(f"installing {name} {version} from PyPI")
            venv = [uv, "venv", "--no-project", "--relocatable", "--python", python, str(target)]
            await _run(venv, progress, cwd=self.envs, what="creating the Python environment")
            pip = [uv, "pip", "install", "--python", str(target / "bin" / "python"), f"{name}=={version}"]
            await _run(pip, progress, cwd=self.envs, what=f"installing {name} {version} from PyPI")

        env, cached = await self._environment(parent / version, install, progress, f"{name} {version}")
        script = _pypi_program(env, name, program)
        mounts = [env]
        prefix = python_prefix(env)
        if prefix is not None and not is_system_path(prefix):
            mounts.append(prefix)
        argv = [str(env / "bin" / "python"), str(script)] if _is_python_script(script) else [str(script)]
        return Artifact(
            argv=(*argv, *args),
            mounts=tuple(mounts),
            details={
                "registry_type": "pypi", "identifier": name, "version": version, "env": str(env),
                "program": script.name, "bin_dir": str(env / "bin"), "cached": cached, "engine": "python",
            },
        )  # fmt: skip

    def _interpreter(self) -> str:
        wanted = self.python or sys.executable
        found = wanted if os.path.isabs(wanted) else shutil.which(wanted)
        if not found or not os.access(found, os.X_OK):
            raise PrepareFailed(f"the Python interpreter {wanted!r} (runtime.python) was not found")
        return os.path.realpath(found)

    async def _pypi_newest(self, uv: str, python: str, name: str) -> str:
        argv = [uv, "pip", "compile", "--python", python, "--no-header", "--no-annotate", "--no-deps", "-"]
        what = f"looking up the newest version of {name} on PyPI"
        output = await _run(argv, None, cwd=self.envs, stdin=name.encode(), what=what)
        for line in output.splitlines():
            found, _, version = line.strip().partition("==")
            if normalize_pypi(found) == normalize_pypi(name) and VERSION.match(version):
                return version
        raise PrepareFailed(f"could not find the newest version of {name} on PyPI")

    # npm

    async def _npm(
        self, name: str, version: str | None, program: str | None, args: list[str], progress: Progress
    ) -> Artifact:
        npm = shutil.which("npm")
        node = shutil.which("node") or ("/usr/bin/node" if os.access("/usr/bin/node", os.X_OK) else None)
        if npm is None or node is None:
            raise PrepareFailed("npm packages need Node.js and npm, which are not installed on this machine")
        parent = self.envs / "npm" / name.replace("/", "+")
        if version is None:
            version = await self._newest(parent, progress, "npm", self._npm_newest(npm, name))

        async def install(target: Path) -> None:
            await progress(f"installing {name} {version} from npm")
            argv = [npm, "install", "--prefix", str(target), "--save-exact", "--ignore-scripts", "--no-audit"]
            argv += ["--no-fund", "--no-update-notifier", "--loglevel", "warn", f"{name}@{version}"]
            await _run(argv, progress, cwd=target, what=f"installing {name} {version} from npm")

        env, cached = await self._environment(parent / version, install, progress, f"{name} {version}")
        script = _npm_program(env, name, program)
        argv = [node, str(script)] if _is_node_script(script) else [str(script)]
        return Artifact(
            argv=(*argv, *args),
            mounts=(env, *_installation_outside_system(node)),
            details={
                "registry_type": "npm", "identifier": name, "version": version, "env": str(env),
                "program": script.name, "bin_dir": str(env / "node_modules" / ".bin"), "cached": cached,
                "engine": "node",
            },
        )  # fmt: skip

    async def _npm_newest(self, npm: str, name: str) -> str:
        what = f"looking up the newest version of {name} on npm"
        output = await _run([npm, "view", "--json", name, "version"], None, cwd=self.envs, what=what)
        try:
            version = json.loads(output)
        except ValueError:
            version = None
        if isinstance(version, str) and VERSION.match(version):
            return version
        raise PrepareFailed(f"could not find the newest version of {name} on npm")

    # the shared cache

    async def _newest(self, parent: Path, progress: Progress, registry: str, lookup: Awaitable[str]) -> str:
        """The newest version on the registry; the newest cached one when the registry cannot be asked."""
        await progress(f"looking up the newest version of {parent.name} on {registry}")
        try:
            return await lookup
        except PrepareFailed as exc:
            cached = _newest_cached(parent)
            if cached is None:
                raise
            await progress(f"{exc}; using the cached version {cached}")
            return cached

    async def _environment(
        self, final: Path, install: Callable[[Path], Awaitable[None]], progress: Progress, label: str
    ) -> tuple[Path, bool]:
        """The environment at ``final``, built by ``install(temp_dir)`` unless another preparer already did."""
        if _is_dir(final):
            await progress(f"using the cached environment of {label}")
            return final, True
        key = str(final)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock, _file_lock(self.envs / ".locks" / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".lock")):
            if _is_dir(final):
                await progress(f"using the cached environment of {label} (installed meanwhile)")
                return final, True
            temp = await asyncio.to_thread(_fresh_temp, final)
            try:
                await install(temp)
                temp.rename(final)
            finally:
                await asyncio.to_thread(shutil.rmtree, temp, ignore_errors=True)
            await progress(f"installed {label}")
            return final, False


def _is_dir(path: Path) -> bool:
    return path.is_dir()


def _newest_cached(parent: Path) -> str | None:
    """The most recently installed version cached under ``parent``."""
    try:
        versions = [p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return None
    return max(versions, key=lambda p: p.stat().st_mtime).name if versions else None


def _fresh_temp(final: Path) -> Path:
    """An empty directory beside ``final`` (same file system, so renaming is atomic); removes ones left by an
    installer that died. Called with the environment's lock held."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    temp = final.parent / f".{final.name}.tmp-{secrets.token_hex(4)}"
    temp.mkdir()
    return temp


def _installation_outside_system(program: str) -> list[Path]:
    real = Path(os.path.realpath(program))
    return [] if is_system_path(real) else [real.parent.parent]


@contextlib.asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive ``flock`` across processes, waited for without blocking the event loop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                await asyncio.sleep(_LOCK_POLL)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("uv")
    if found is None:
        raise PrepareFailed("PyPI packages need uv, which is not installed (pip install uv)")
    return found


async def _run(
    argv: Sequence[str], progress: Progress | None, *, cwd: Path, what: str, stdin: bytes | None = None
) -> str:
    """Run an installer; its output lines go to ``progress``; its stdout is returned when ``progress`` is None.
    A failure raises PrepareFailed with the tool's last lines; a timeout or cancellation kills it."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if progress is not None else asyncio.subprocess.PIPE,
        cwd=cwd,
        env=installer_env(),
        start_new_session=True,
    )
    last: deque[str] = deque(maxlen=_ERROR_LINES)
    try:
        if progress is None:
            out, err = await process.communicate(stdin)
            last.extend(err.decode(errors="replace").splitlines())
            output = out.decode(errors="replace")
        else:
            assert process.stdout is not None
            async for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip()[:_MAX_PROGRESS_LINE]
                if line and not line.startswith(_NOISE):
                    last.append(line)
                    await progress(line)
            await process.wait()
            output = ""
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if process.returncode != 0:
        details = "\n".join(line for line in last if line.strip() and not line.startswith(_NOISE)) or "(no output)"
        seconds = time.monotonic() - started
        raise PrepareFailed(
            f"{what} failed ({Path(argv[0]).name}: exit code {process.returncode}, {seconds:.1f} s):\n{details}"
        )
    return output


def _pypi_program(env: Path, name: str, wanted: str | None) -> Path:
    """The program to run: the package's console script (``wanted``, or its only/eponymous one). ``wanted`` may name
    a console script of any distribution in the environment (a dependency's), never the interpreter or another file
    of ``bin/``: a package runs its own programs, not ``python -c`` with code in the arguments."""
    site = next(iter(sorted(env.glob("lib/python*/site-packages"))), None)
    scripts: dict[str, str] = {}
    installed: set[str] = set()
    for info in site.glob("*.dist-info") if site else []:
        distribution = PathDistribution(info)
        entry_points = distribution.entry_points
        installed |= {entry.name for entry in entry_points if entry.group in ("console_scripts", "gui_scripts")}
        if normalize_pypi(distribution.metadata["Name"] or "") == normalize_pypi(name):
            scripts = {entry.name: entry.value for entry in entry_points.select(group="console_scripts")}
    if wanted is not None:
        if wanted in installed and (env / "bin" / wanted).is_file():
            return env / "bin" / wanted
        listed = ", ".join(sorted(scripts or installed)) or "none"
        raise PrepareFailed(
            f"{name} has no program {wanted!r}; its programs: {listed} ('bin' names a program its packages install, "
            "never the interpreter)"
        )
    by_name = [script for script in scripts if normalize_pypi(script) == normalize_pypi(name)]
    if by_name:
        return env / "bin" / by_name[0]
    if len(scripts) == 1:
        return env / "bin" / next(iter(scripts))
    if not scripts:
        raise PrepareFailed(f"{name} installs no program (console script) to run")
    raise PrepareFailed(f"{name} has several programs ({', '.join(sorted(scripts))}); choose one with 'bin'")


def _is_python_script(path: Path) -> bool:
    """Console scripts of a relocatable venv start with a /bin/sh trampoline that is also valid Python."""
    try:
        with path.open("rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    first = head.split(b"\n", 1)[0]
    return head.startswith(b"#!/bin/sh\n'''exec'") or (first.startswith(b"#!") and b"python" in first)


def _npm_program(env: Path, name: str, wanted: str | None) -> Path:
    package_dir = env / "node_modules" / name
    try:
        manifest = json.loads((package_dir / "package.json").read_text())
    except (OSError, ValueError) as exc:
        raise PrepareFailed(f"{name} was installed without a readable package.json: {exc}") from None
    unscoped = name.rsplit("/", 1)[-1]
    declared = manifest.get("bin")
    programs: dict[str, str] = {unscoped: declared} if isinstance(declared, str) else dict(declared or {})
    if wanted is not None:
        chosen = programs.get(wanted)
        if chosen is None:
            listed = ", ".join(sorted(programs)) or "none"
            raise PrepareFailed(f"{name} has no program {wanted!r}; its programs: {listed}")
    elif len(programs) == 1:
        chosen = next(iter(programs.values()))
    elif unscoped in programs:
        chosen = programs[unscoped]
    elif not programs:
        raise PrepareFailed(f"{name} declares no program ('bin' in its package.json) to run")
    else:
        raise PrepareFailed(f"{name} has several programs ({', '.join(sorted(programs))}); choose one with 'bin'")
    path = (package_dir / chosen).resolve()
    if not path.is_relative_to(package_dir.resolve()) or not path.is_file():
        raise PrepareFailed(f"{name}'s program {chosen!r} is missing from the package")
    return path


def _is_node_script(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            first = handle.readline(256)
    except OSError:
        return True
    return not first.startswith(b"#!") or b"node" in first
