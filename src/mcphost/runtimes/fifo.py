"""The MCP stdio channel of a container over two named pipes (Docker: instead of the engine's attach socket;
Kubernetes: between the server's container and the stdio bridge in its pod, on a shared emptyDir).

Over the attach socket every message crosses dockerd and the container's shim, which copy and frame it: a server in a
container answered about 0.6x the calls per second of the same server as a process (docs/benchmarks.md). With pipes
the kernel carries the bytes straight between MCP Host and the server, as for a process.

How: a directory with two FIFOs, ``in`` and ``out``, is bind-mounted read-only at ``STDIO_DIR``; the container's
entry point becomes the image's own shell, which redirects and execs the server's command
(``exec "$@" <in >out``: the server is the container's process, its stdin and stdout the FIFOs; stderr stays on the
attach stream and in the server's logs). MCP Host opens ``out`` before the container starts (read and write, so the
shell's ``>out`` never waits and the reader never sees a premature end) and ``in`` once the server's side is open.

Only images with ``/bin/sh`` qualify (recorded at prepare), and only under runc: gVisor's sandbox does not pass host
FIFOs through. Others keep the attach socket.

A hostile server cannot turn the pipes against the host: the directory belongs to MCP Host and is mounted read-only,
so the server can neither replace a FIFO by a link nor add files; opens use ``O_NOFOLLOW`` and check that what was
opened is a FIFO."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shlex
import shutil
import stat
from pathlib import Path

__all__ = ["STDIO_DIR", "FifoChannel", "make_fifos", "open_input", "open_output", "remove_fifos", "wrap_command"]

STDIO_DIR = "/run/mcphost-stdio"
SHELL = "/bin/sh"
_OPEN_POLL_MAX = 0.05


def wrap_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """The entry point and command that run ``argv`` with its stdin and stdout on the FIFOs."""
    script = f'exec "$@" <{shlex.quote(STDIO_DIR + "/in")} >{shlex.quote(STDIO_DIR + "/out")}'
    return [SHELL, "-c", script, "mcphost-stdio"], list(argv)


def make_fifos(directory: Path, uid: int | None, gid: int | None) -> None:
    """Create the directory (MCP Host's; others may only pass through it) and its two FIFOs (the container user's,
    mode 0600)."""
    directory.mkdir(parents=True, mode=0o711)
    os.chmod(directory, 0o711)  # noqa: S103 (the container's user must reach the FIFOs; it can list and write nothing)
    for name in ("in", "out"):
        path = directory / name
        os.mkfifo(path, 0o600)
        if uid is not None and gid is not None:
            os.chown(path, uid, gid)


def remove_fifos(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def _open_fifo(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a FIFO")
    return fd


class FifoChannel:
    """The server's stdout (``reader``) and stdin (``writer``) over the FIFOs."""

    def __init__(self, reader: asyncio.StreamReader, read_transport: asyncio.BaseTransport) -> None:
        self.reader = reader
        self._read_transport = read_transport
        self.writer: asyncio.StreamWriter | None = None

    def end_input(self) -> None:
        """Close the server's stdin: the first step of the MCP stdio shutdown."""
        if self.writer is not None:
            self.writer.transport.close()

    def close(self) -> None:
        self.end_input()
        self._read_transport.close()


async def open_output(directory: Path, limit: int) -> FifoChannel:
    """Open ``out`` for reading, before the container starts (opened read-write: no wait, no end while it lives)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit)
    fd = _open_fifo(directory / "out", os.O_RDWR)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return FifoChannel(reader, transport)


async def open_input(channel: FifoChannel, directory: Path, ended: asyncio.Event) -> None:
    """Open ``in`` for writing once the server's shell has opened it for reading (until then the kernel answers
    ENXIO); gives up when the container ended (the caller bounds the wait)."""
    loop = asyncio.get_running_loop()
    pause = 0.001
    while True:
        try:
            fd = _open_fifo(directory / "in", os.O_WRONLY)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        if ended.is_set():
            raise OSError("the container ended before it opened its input")
        await asyncio.sleep(pause)
        pause = min(pause * 2, _OPEN_POLL_MAX)
    pipe = os.fdopen(fd, "wb", buffering=0)
    try:
        protocol = asyncio.StreamReaderProtocol(asyncio.StreamReader())
        transport, _ = await loop.connect_write_pipe(lambda: protocol, pipe)
    except BaseException:
        with contextlib.suppress(OSError):
            pipe.close()
        raise
    channel.writer = asyncio.StreamWriter(transport, protocol, None, loop)
