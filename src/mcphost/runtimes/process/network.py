"""A sandboxed server's own network: a network namespace with outbound access only.

bubblewrap creates the namespace (``--unshare-net``: only a loopback interface) and holds the server back
(``--block-fd``) while a user-mode network helper attaches a tap interface to it, as rootless container engines do:

- ``pasta`` (Debian package passt), preferred: the namespace gets the host's own address, so connecting to that
  address stays inside the namespace; ``--no-map-gw`` keeps the gateway address from leading to the host, ``-T none
  -U none`` keep the host's loopback ports from being forwarded into the namespace (pasta's default forwards every
  one of them: PostgreSQL, Redis, MCP Host itself; ``runtime.host_loopback_ports`` names the ones an administrator
  allows), ``-t 127.0.0.1/PORT`` forwards a streamable-http server's port from the host's loopback to the
  namespace's (the only inbound path);
- ``slirp4netns``, the fallback: ``--disable-host-loopback``; it cannot reach a server listening on the namespace's
  loopback, so streamable-http servers need pasta.

Whatever else is an address of the host (another interface's, or every one with slirp4netns) is made unreachable in
the namespace with ``prohibit`` routes before the server starts (``nsenter`` + ``ip`` from iproute2). A helper dies
with its server (the runtime stops it) and with MCP Host (a parent-death signal; slirp4netns's exit pipe).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import ipaddress
import itertools
import logging
import os
import shutil
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["Attached", "NetworkHelper", "find_helper", "resolv_conf_for"]

log = logging.getLogger(__name__)

HelperName = Literal["pasta", "slirp4netns"]
_READY_TIMEOUT = 10.0
_POLL = 0.002
#: Where a server's DNS queries go when the host's resolver listens on its loopback (systemd-resolved's 127.0.0.53).
PASTA_DNS = "169.254.1.1"
SLIRP_DNS = "10.0.2.3"
_PR_SET_PDEATHSIG = 1
_RTF_REJECT = 0x0200
_NS_GET_USERNS = 0xB701  # ioctl: the user namespace owning a namespace
_NOISE = "Failed to send"  # pasta's complaints about a missing syslog socket
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """In the helper's child between fork and exec: SIGKILL it when MCP Host dies (even by SIGKILL)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Attached:
    """A running helper serving one server's namespace; ``close`` ends it."""

    name: str
    process: asyncio.subprocess.Process
    exit_fd: int | None = None
    output: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    def close(self) -> None:
        if self.exit_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.exit_fd)
            self.exit_fd = None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def wait_closed(self) -> None:
        self.close()
        await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._reader, 1)


class NetworkHelper:
    """One of the user-mode network programs, and how to attach it to a namespace."""

    def __init__(self, name: HelperName, path: str) -> None:
        self.name = name
        self.path = path

    @property
    def forwards_to_loopback(self) -> bool:
        """Whether a port of the host's loopback can reach a server listening on the namespace's loopback."""
        return self.name == "pasta"

    @property
    def dns_address(self) -> str:
        return PASTA_DNS if self.name == "pasta" else SLIRP_DNS

    async def attach(
        self, child: int, *, forward: Sequence[int] = (), host_ports: Sequence[int] = (), dns_forward: bool = False
    ) -> Attached:
        """Give the network namespace of process ``child`` outbound access; returns once it is configured.
        ``forward``: ports of the host's loopback that reach the namespace's (a streamable-http server's);
        ``host_ports``: ports of the namespace's loopback that reach the host's (an administrator's choice).

        Raises OSError with the helper's own words when it cannot."""
        await _loopback_ready(child)  # bubblewrap configures the namespace's loopback first; never race it
        as_root = os.geteuid() == 0
        ns_fds = [os.open(f"/proc/{child}/ns/net", os.O_RDONLY | os.O_CLOEXEC)]
        ready_r = ready_w = exit_r = exit_w = -1
        try:
            if not as_root:
                # An unprivileged helper joins the user namespace that owns the network namespace (bubblewrap nests
                # another one inside it for --disable-userns, where the network could not be configured).
                owner = fcntl.ioctl(ns_fds[0], _NS_GET_USERNS)
                os.set_inheritable(owner, False)
                ns_fds.append(owner)
            if self.name == "pasta":
                argv = self._pasta(ns_fds, forward, host_ports, dns_forward)
                pass_fds: tuple[int, ...] = tuple(ns_fds)
            else:
                ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
                exit_r, exit_w = os.pipe2(os.O_CLOEXEC)
                argv = self._slirp(ns_fds, ready_w, exit_r)
                pass_fds = (*ns_fds, ready_w, exit_r)
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                    pass_fds=pass_fds,
                    preexec_fn=_die_with_parent,
                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                )
            except BaseException:
                if exit_w >= 0:
                    os.close(exit_w)
                raise
            for fd in (ready_w, exit_r):  # the helper's ends
                if fd >= 0:
                    os.close(fd)
            ready_w = exit_r = -1
            attached = Attached(self.name, process, exit_fd=exit_w if exit_w >= 0 else None)
            assert process.stderr is not None
            attached._reader = asyncio.create_task(_collect(process.stderr, attached.output, self.name))
            try:
                if self.name == "pasta":
                    wanted = default_routes()  # pasta copies the host's routes: wait for all of them (v4, v6)
                    await _until(
                        lambda: default_routes(f"/proc/{child}/net") >= wanted,
                        process,
                        attached,
                        "configure the network",
                    )
                else:
                    await _slirp_ready(ready_r, process, attached)
                await block_host_addresses(child, ns_fds)
            except BaseException:
                await attached.wait_closed()
                raise
        finally:
            for fd in (*ns_fds, ready_r, ready_w, exit_r):
                if fd >= 0:
                    os.close(fd)
        return attached

    def _pasta(
        self, ns_fds: list[int], forward: Sequence[int], host_ports: Sequence[int], dns_forward: bool
    ) -> list[str]:
        argv = [self.path, "--foreground", "--quiet", "--config-net", "--no-map-gw"]
        inbound = ",".join(f"127.0.0.1/{port}" for port in forward) or "none"
        outbound = ",".join(str(port) for port in host_ports) or "none"
        argv += ["--tcp-ports", inbound, "--udp-ports", "none", "--tcp-ns", outbound, "--udp-ns", "none"]
        if dns_forward:
            argv += ["--dns-forward", PASTA_DNS]
        if len(ns_fds) == 1:
            # As root: only the network namespace is joined (root may configure it from outside); pasta would
            # otherwise become "nobody" first and fail to open /dev/net/tun (0600 on some hosts).
            argv += ["--runas", "0:0", "--netns-only", "--netns", f"/proc/self/fd/{ns_fds[0]}"]
        else:
            argv += ["--userns", f"/proc/self/fd/{ns_fds[1]}", "--netns", f"/proc/self/fd/{ns_fds[0]}"]
        return argv

    def _slirp(self, ns_fds: list[int], ready_w: int, exit_r: int) -> list[str]:
        argv = [self.path, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-seccomp"]
        argv += [f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", "--netns-type=path"]
        if len(ns_fds) == 1:
            argv.append("--enable-sandbox")  # as root: its own mount namespace, capabilities dropped
        else:
            argv.append(f"--userns-path=/proc/self/fd/{ns_fds[1]}")
        return [*argv, f"/proc/self/fd/{ns_fds[0]}", "tap0"]


def find_helper(wanted: Literal["auto", "pasta", "slirp4netns"]) -> NetworkHelper | None:
    """The helper to use: ``wanted``, or with ``auto`` pasta, else slirp4netns; None when none is installed."""
    names: tuple[HelperName, ...] = ("pasta", "slirp4netns") if wanted == "auto" else (wanted,)
    for name in names:
        path = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        if path is not None:
            return NetworkHelper(name, path)
    return None


def resolv_conf_for(helper: NetworkHelper, resolv_conf: Path = Path("/etc/resolv.conf")) -> str | None:
    """A resolv.conf for the namespace when the host's resolvers listen on its loopback (unreachable from the
    namespace): the helper forwards queries to its DNS address. None when the host's file works as it is."""
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return None
    servers = [line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1]
    loopback = [server for server in servers if _is_loopback(server)]
    if not loopback:
        return None
    kept = [line for line in lines if not line.startswith("nameserver")]
    return "\n".join([f"nameserver {helper.dns_address}", *kept]) + "\n"


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


async def _collect(stream: asyncio.StreamReader, lines: list[str], name: str) -> None:
    async for raw in stream:
        line = raw.decode(errors="replace").rstrip()
        if line and not line.startswith(_NOISE):
            if len(lines) < 50:
                lines.append(line)
            log.debug("%s: %s", name, line)


async def _until(
    condition: Callable[[], bool], process: asyncio.subprocess.Process, attached: Attached, what: str
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _READY_TIMEOUT
    while not condition():
        if process.returncode is not None or loop.time() > deadline:
            await asyncio.sleep(0.05)  # its last words
            said = "; ".join(attached.output) or f"exit code {process.returncode}"
            raise OSError(f"{attached.name} could not {what}: {said}")
        await asyncio.sleep(_POLL)


async def _slirp_ready(ready_r: int, process: asyncio.subprocess.Process, attached: Attached) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(ready_r, readable)
    try:
        await _until(lambda: ready.done(), process, attached, "configure the network")
        if not os.read(ready_r, 1):
            raise OSError(f"slirp4netns could not configure the network: {'; '.join(attached.output)}")
    finally:
        loop.remove_reader(ready_r)


async def _loopback_ready(child: int) -> None:
    """bubblewrap's child brings the namespace's loopback up right after it starts; the loopback's local routes
    exist once it is (configuring the namespace at the same time makes bubblewrap fail)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _READY_TIMEOUT
    while "127.0.0.1" not in _read(f"/proc/{child}/net/fib_trie"):
        if loop.time() > deadline or not _read(f"/proc/{child}/stat"):  # gone: the sandbox failed
            raise OSError("the sandbox did not set up its network namespace")
        await asyncio.sleep(_POLL)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def default_routes(proc_net: str = "/proc/net") -> set[int]:
    """The IP versions (4, 6) a network namespace has a usable default route for."""
    found = set()
    for line in _read(f"{proc_net}/route").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[1] == "00000000" and fields[7] == "00000000":
            found.add(4)
    for line in _read(f"{proc_net}/ipv6_route").splitlines():
        fields = line.split()  # destination, length, ..., flags, device; a fresh namespace has a "reject" one on lo
        default = len(fields) == 10 and fields[0] == "0" * 32 and fields[1] == "00" and fields[9] != "lo"
        if default and not int(fields[8], 16) & _RTF_REJECT:
            found.add(6)
    return found


def local_addresses(proc_net: str = "/proc/net") -> set[str]:
    """The addresses of a network namespace's interfaces, loopback and link-local ones left out."""
    found: set[str] = set()
    lines = _read(f"{proc_net}/fib_trie").splitlines()
    for previous, line in itertools.pairwise(lines):
        if line.strip() == "/32 host LOCAL" and "|--" in previous:
            found.add(previous.split("|--")[1].strip())
    for line in _read(f"{proc_net}/if_inet6").splitlines():
        raw = line.split()[0] if line.split() else ""
        if len(raw) == 32:
            found.add(str(ipaddress.IPv6Address(int(raw, 16))))
    return {
        address
        for address in found
        if not (ipaddress.ip_address(address).is_loopback or ipaddress.ip_address(address).is_link_local)
    }


async def block_host_addresses(child: int, ns_fds: Sequence[int]) -> None:
    """Make the host's addresses that are not the namespace's own unreachable from it (``prohibit`` routes).
    ``ns_fds``: the namespace's network namespace, and (not as root) the user namespace that owns it."""
    blocked = sorted(local_addresses() - local_addresses(f"/proc/{child}/net"))
    if not blocked:
        return
    nsenter, ip = shutil.which("nsenter"), shutil.which("ip", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if nsenter is None or ip is None:
        raise OSError(
            f"the host's addresses {', '.join(blocked)} would be reachable from the server's network and cannot "
            "be blocked without nsenter and ip (apt-get install util-linux iproute2)"
        )
    argv = [nsenter, f"--net=/proc/self/fd/{ns_fds[0]}"]
    if len(ns_fds) > 1:
        argv += [f"--user=/proc/self/fd/{ns_fds[1]}", "--preserve-credentials"]
    script = "".join(f"route add prohibit {address}\n" for address in blocked)
    process = await asyncio.create_subprocess_exec(
        *argv, ip, "-batch", "-", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, pass_fds=tuple(ns_fds),
    )  # fmt: skip
    _, err = await process.communicate(script.encode())
    if process.returncode != 0:
        raise OSError(f"cannot block the host's addresses in the server's network: {err.decode().strip()}")
