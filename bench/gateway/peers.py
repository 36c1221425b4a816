"""The peer gateways the gateway benchmark compares with, installed into ``bench/.peers/`` (ignored by git), each
isolated from the project: a virtualenv per Python peer (uv), an npm prefix for supergateway. Idempotent: a peer
is installed again only when its pinned version changes.

    .venv/bin/python bench/gateway/peers.py        installs (or checks) all of them
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parents[1] / ".peers"
UV = Path(sys.executable).parent / "uv"


@dataclass(frozen=True)
class Peer:
    name: str
    kind: str  # "pypi" or "npm"
    spec: str  # what is installed, pinned

    @property
    def home(self) -> Path:
        return PEERS_DIR / self.name

    @property
    def version(self) -> str:
        return self.spec.rsplit("==" if self.kind == "pypi" else "@", 1)[1]

    def program(self, name: str) -> Path:
        """An installed program: a virtualenv's script, or an npm package's bin (a node script run directly)."""
        folder = self.home / ("bin" if self.kind == "pypi" else "node_modules/.bin")
        return folder / name


SUPERGATEWAY = Peer("supergateway", "npm", "supergateway@4.0.0")
MCP_PROXY = Peer("mcp-proxy", "pypi", "mcp-proxy==0.13.0")
# 4.1.3 and later need a certifi newer than the registry serves here; 4.1.2 is the newest that installs.
FASTMCP = Peer("fastmcp", "pypi", "fastmcp==4.1.2")
PEERS = (SUPERGATEWAY, MCP_PROXY, FASTMCP)


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=900)


def ensure(peer: Peer) -> Peer:
    """Install the peer unless the pinned version is there already."""
    stamp = peer.home / ".installed"
    if stamp.exists() and stamp.read_text() == peer.spec:
        return peer
    print(f"installing {peer.spec} into {peer.home}", file=sys.stderr, flush=True)
    shutil.rmtree(peer.home, ignore_errors=True)
    if peer.kind == "pypi":
        _run([str(UV), "venv", "--quiet", "--python", sys.executable, str(peer.home)])
        _run([str(UV), "pip", "install", "--quiet", "--python", str(peer.home / "bin" / "python"), peer.spec])
    else:
        peer.home.mkdir(parents=True)
        _run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(peer.home), peer.spec])
    stamp.write_text(peer.spec)
    return peer


def ensure_all() -> None:
    for peer in PEERS:
        ensure(peer)


if __name__ == "__main__":
    ensure_all()
    for peer in PEERS:
        print(f"{peer.spec:28} {peer.home}")
