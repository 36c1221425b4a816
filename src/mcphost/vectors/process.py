"""One Chroma server process: started on 127.0.0.1 and a free port with token authentication, in its own session
(so that it can be adopted by the next platform process if this one dies), stopped by process group.

Chroma's own HTTP server is the ``chromadb`` package's FastAPI app (``chromadb.app:app`` on uvicorn): its Rust
``chroma run`` has no authentication, and the token is what keeps other local processes out. ``container`` runs the
same server in a container (``vectors.runtime``), with the same environment (``chroma_env``) and log file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

TOKEN_PROVIDER = "chromadb.auth.token_authn.TokenAuthenticationServerProvider"  # noqa: S105 (a class name)


class ChromaStartFailed(Exception):
    """A Chroma server could not be started (not even tried: no engine, an image that could not be built...)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def db_dir(home: Path, vector_db_id: object) -> Path:
    return home / "vectors" / str(vector_db_id)


def chroma_env(directory: str, token: str) -> dict[str, str]:
    """The environment of a Chroma server whose database directory is ``directory`` (its data in ``data/``)."""
    return {
        "HOME": directory,
        "ANONYMIZED_TELEMETRY": "False",
        "IS_PERSISTENT": "TRUE",
        "PERSIST_DIRECTORY": f"{directory}/data",
        "ALLOW_RESET": "FALSE",
        "CHROMA_SERVER_AUTHN_PROVIDER": TOKEN_PROVIDER,
        "CHROMA_SERVER_AUTHN_CREDENTIALS": token,
    }


def log_tail(directory: Path, lines: int = 5) -> str:
    """The last lines of the server's output (``chroma.log`` in its directory), on one line."""
    try:
        text = (directory / "chroma.log").read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line for line in text.strip().splitlines()[-lines:])


def disk_bytes(directory: Path) -> int:
    total = 0
    for current, _dirs, files in os.walk(directory):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(current, name)).st_size
    return total


@dataclass
class ChromaProcess:
    pid: int
    port: int
    directory: Path
    child: asyncio.subprocess.Process | None = None

    @classmethod
    async def start(cls, directory: Path, token: str, python: str | None) -> ChromaProcess:
        (directory / "data").mkdir(parents=True, exist_ok=True, mode=0o700)
        port = free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} | chroma_env(str(directory), token)
        argv = [python or sys.executable, "-m", "uvicorn", "chromadb.app:app", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
        with open(directory / "chroma.log", "ab") as log:  # noqa: ASYNC230 (opening a log file)
            child = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
            )
        (directory / "chroma.pid").write_text(f"{child.pid} {port}\n")
        return cls(pid=child.pid, port=port, directory=directory, child=child)

    @classmethod
    def adoptable(cls, directory: Path, pid: int | None, port: int | None) -> ChromaProcess | None:
        """The server a previous platform process left running, if that pid is still a Chroma server of ours."""
        if not pid or not port:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        if b"chromadb.app:app" not in cmdline or str(port).encode() not in cmdline:
            return None
        return cls(pid=pid, port=port, directory=directory)

    @property
    def returncode(self) -> int | None:
        return self.child.returncode if self.child is not None else None

    def describe(self) -> str:
        return f"as a process (pid {self.pid})"

    async def alive(self) -> bool:
        return self._running()

    def _running(self) -> bool:
        if self.child is not None:
            return self.child.returncode is None
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return Path(f"/proc/{self.pid}").exists() and "Z" not in _state(self.pid)

    def log_tail(self, lines: int = 5) -> str:
        return log_tail(self.directory, lines)

    async def stop(self, grace: float = 5.0) -> None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
            if not self._running():
                break
            with contextlib.suppress(OSError):
                os.killpg(self.pid, sig)
            deadline = asyncio.get_running_loop().time() + wait
            while self._running() and asyncio.get_running_loop().time() < deadline:
                if self.child is not None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.child.wait(), 0.1)
                else:
                    await asyncio.sleep(0.1)
        with contextlib.suppress(OSError):
            (self.directory / "chroma.pid").unlink()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def remove_dir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
