"""Test images, built locally from the base images (scripts/docker_base_images.sh) and cached by the hash of their
recipe: the echo fixture as a stdio server (no USER: runs as nobody) and as a streamable-http server (USER app,
uid 1234, EXPOSE 8080)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import docker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PYTHON_BASE = "mcphost-base/python:bookworm"
NODE_BASE = "mcphost-base/node:bookworm"
STDIO_IMAGE = "mcphost-test/echo:stdio"
HTTP_IMAGE = "mcphost-test/echo:http"
#: The stdio server in an image without /bin/sh (exec-form RUN needs no shell): MCP over the attach socket.
SHELLLESS_IMAGE = "mcphost-test/echo:no-shell"
LABEL = "org.mcphost.test-recipe"

RECIPES = {
    STDIO_IMAGE: f"""FROM {PYTHON_BASE}
COPY echo_server.py /app/echo_server.py
CMD ["python3", "-u", "/app/echo_server.py"]
""",
    HTTP_IMAGE: f"""FROM {PYTHON_BASE}
RUN useradd --uid 1234 --no-create-home --shell /usr/sbin/nologin app
COPY echo_server.py http_echo_server.py /app/
USER app
EXPOSE 8080
CMD ["python3", "-u", "/app/http_echo_server.py"]
""",
    SHELLLESS_IMAGE: f"""FROM {PYTHON_BASE}
COPY echo_server.py /app/echo_server.py
RUN ["/usr/bin/rm", "/usr/bin/sh"]
ENTRYPOINT ["python3", "-u"]
CMD ["/app/echo_server.py"]
""",
}
FILES = ("echo_server.py", "http_echo_server.py")


def _context(dockerfile: str, recipe: str) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in [("Dockerfile", f"{dockerfile}LABEL {LABEL}={recipe}\n".encode())] + [
            (name, (FIXTURES / name).read_bytes()) for name in FILES
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def _recipe(dockerfile: str) -> str:
    digest = hashlib.sha256(dockerfile.encode())
    for name in FILES:
        digest.update((FIXTURES / name).read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    fd = os.open("/tmp/mcphost-test-images.lock", os.O_RDWR | os.O_CREAT, 0o600)  # noqa: S108
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def build_test_images(client: docker.DockerClient) -> None:
    """Build the images whose recipe changed (one builder at a time across test workers)."""
    with _lock():
        for tag, dockerfile in RECIPES.items():
            recipe = _recipe(dockerfile)
            try:
                if client.images.get(tag).labels.get(LABEL) == recipe:
                    continue
            except docker.errors.ImageNotFound:
                pass
            client.images.build(fileobj=_context(dockerfile, recipe), custom_context=True, tag=tag, rm=True)
