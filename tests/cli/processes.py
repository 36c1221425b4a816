"""Running the installed ``mcphost`` / ``mcpctl`` executables as real subprocesses, with bounded waits.

The executables come from the virtualenv running the tests (next to ``sys.executable``), never from whatever
``PATH`` happens to hold. Each process gets an explicit environment: the test process has had its MCPHOST_*
variables removed (tests/conftest.py), and whatever a test wants the process to see is passed in.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 60.0


def executable(name: str) -> str:
    """The console script ``name`` installed in the virtualenv running the tests."""
    bin_dir = Path(sys.executable).parent
    found = shutil.which(name, path=str(bin_dir))
    assert found is not None, f"{name} is not installed in {bin_dir}; run `make install`"
    return found


def environment(**variables: str) -> dict[str, str]:
    """The test process's environment without any MCPHOST_* setting, plus ``variables``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MCPHOST_")}
    # Rich sizes the banner to the terminal; without one it uses 80 columns unless COLUMNS says otherwise.
    env.pop("COLUMNS", None)
    env["PYTHONUNBUFFERED"] = "1"  # so a test sees printed lines as soon as they are printed
    env.update(variables)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, env: dict[str, str], timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``mcphost ARGS`` to completion; a hang fails the test after ``timeout`` seconds."""
    return subprocess.run(
        [executable("mcphost"), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Running:
    """A started process whose stdout and stderr go to files, so they can be read while it runs."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def describe(self) -> str:
        return f"exit code {self.process.poll()}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
        """Poll ``condition`` until it holds; fail early if the process exits, and after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"the process exited while waiting for {what}\n{self.describe()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout:.0f}s\n{self.describe()}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals, timeout: float = STOP_TIMEOUT) -> tuple[int, float]:
        """Send ``sig`` and wait for the exit; returns the exit code and how long it took."""
        started = time.monotonic()
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout:.0f}s after {sig.name}\n{self.describe()}") from None
        return code, time.monotonic() - started


@contextmanager
def start(*args: str, env: dict[str, str], logs: Path, name: str = "mcphost") -> Iterator[Running]:
    """Start ``name ARGS``; whatever happens in the test, the process is killed afterwards."""
    logs.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = logs / f"{name}.stdout", logs / f"{name}.stderr"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen([executable(name), *args], env=env, stdout=stdout, stderr=stderr)
    try:
        yield Running(process, stdout_path, stderr_path)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(STOP_TIMEOUT)


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 right now."""
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
