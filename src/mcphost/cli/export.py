"""``mcphost config export``: the configuration an MCP client needs to reach a hosted server, printed or merged
into the client's own configuration file.

Without ``--key`` the configuration carries the access key this command made for that instance, server and client
the last time, kept by the command line (``kept_keys``: an instance shows a key only once and stores its hash),
after checking that the key is still active; otherwise a new key is made, kept, and stderr says so (with the other
keys ``config export`` made for the server, to revoke those no longer in use).

Merging never loses anything: only the entry named after the server's slug is added or replaced (and, for VS Code,
the ``inputs`` with the same id); a file that is not valid JSON is refused and left as it is; an existing file is
copied to a timestamped backup first and replaced at once (temporary file and rename), keeping its mode.
"""

from __future__ import annotations

import enum
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import UrlOption, fail, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

KEY_PLACEHOLDER = "<ACCESS_KEY>"
KEY_NAME = "mcphost config export"


class ClientName(enum.StrEnum):
    claude_desktop = "claude-desktop"
    claude_code = "claude-code"
    vscode = "vscode"
    cursor = "cursor"


#: Where each client's servers are in its file.
SERVERS_KEY = {ClientName.claude_desktop: "mcpServers", ClientName.cursor: "mcpServers", ClientName.vscode: "servers"}


def export(
    server: Annotated[str, typer.Argument(help="The server: its id, slug or name.", show_default=False)],
    client: Annotated[
        ClientName, typer.Option("--client", "-c", help="The MCP client to configure.", show_default=False)
    ],
    write: Annotated[bool, typer.Option("--write", help="Merge it into the client's configuration file.")] = False,
    path: Annotated[
        Path | None,
        typer.Option("--path", help="The file to merge into (default: the client's own).", dir_okay=False),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="An access key of the server (default: the one kept for this client, else a new one, kept).",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Print the configuration of an MCP client for a server, or merge it into the client's file (--write)."""
    from mcphost.cli import credentials

    target = (path or default_path(client)) if write and client is not ClientName.claude_code else None
    base_url = credentials.chosen_url(url)

    async def fetch(api: MCPHostClient) -> tuple[dict[str, Any], dict[str, Any], Access]:
        found = await api.resolve_server(server)
        config = dict(await api.request("GET", f"/api/servers/{found['id']}/client-config"))
        access = Access(key) if key is not None else await _access_key(api, base_url, found, client)
        return found, config, access

    found, config, access = run_api(fetch, url)
    snippet = config["clients"][client.value.replace("-", "_")]
    content = fill_key(snippet["content"], access.key)
    if key is None:
        _say_where_the_key_came_from(found["slug"], client, access)
    if client is ClientName.vscode and key is None:
        # The file (often committed with the workspace) keeps a prompt; VS Code asks for the key once and stores it.
        typer.echo(f"VS Code asks for the access key on first use: {access.key}", err=True)

    if client is ClientName.claude_code:
        typer.echo(content)
        if write:
            fail("Claude Code keeps its configuration itself: run the command above to add the server", code=2)
        return
    if target is None:
        typer.echo(json.dumps(content, indent=2, ensure_ascii=False))
        if snippet.get("note") and client is not ClientName.claude_desktop:
            typer.echo(f"note: {snippet['note']}", err=True)
        return
    backup = merge_into(target, content, SERVERS_KEY[client])
    typer.echo(f"Added {found['slug']} to {target}" + (f" (backup: {backup})" if backup else " (new file)"))


@dataclass(frozen=True)
class Access:
    """The access key a configuration carries, and how it was come by."""

    key: str
    #: The key made by this run (the API's answer), or None when a given or kept key is used.
    made: dict[str, Any] | None = None
    #: The kept key, as the key list shows it, when it is used again.
    reused: dict[str, Any] | None = None
    #: Where the key is kept for the next run (None: given with --key, or it could not be kept).
    kept_in: Path | None = None
    #: The kept key (its id) that no longer works (revoked, or gone), replaced by ``made``.
    replaced: str | None = None
    #: Other keys of the server made by ``config export`` and still active: candidates to revoke.
    others: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None


def key_name(client: ClientName) -> str:
    """The name of the key made for ``client``, so that the key list tells what each key is for."""
    return f"{KEY_NAME} ({client.value})"


async def _access_key(api: MCPHostClient, base_url: str, found: dict[str, Any], client: ClientName) -> Access:
    """The key kept for this instance, server and client when it still works; else a new key, kept."""
    from mcphost.cli import kept_keys

    server_id = str(found["id"])
    kept = kept_keys.find(base_url, server_id, client.value)
    listed = await api.list_keys(server_id)
    active = {str(item["id"]): item for item in listed if not item.get("revoked_at")}
    if kept is not None and kept.server_id == server_id and kept.key_id in active:
        return Access(kept.key, reused=active[kept.key_id], kept_in=kept_keys.path())
    made = await api.create_key(server_id, key_name(client))
    in_use_here = kept_keys.kept_ids(base_url, server_id)  # other clients' kept keys are not leftovers
    others = [
        item for item in active.values() if str(item["name"]).startswith(KEY_NAME) and item["id"] not in in_use_here
    ]
    replaced = f"id {kept.key_id}" if kept is not None else None
    try:
        kept_in: Path | None = kept_keys.keep(
            base_url, str(found["slug"]), server_id, str(made["key"]), made.get("id"), client.value
        )
        problem = None
    except OSError as exc:
        kept_in, problem = None, f"it could not be kept ({exc}), so the next export makes another"
    return Access(str(made["key"]), made=made, kept_in=kept_in, replaced=replaced, others=others, problem=problem)


def _say_where_the_key_came_from(slug: str, client: ClientName, access: Access) -> None:
    """On stderr: whether the key was reused or made (and where it is kept), and which older keys to revoke."""

    def say(message: str) -> None:
        typer.echo(message, err=True)

    made = access.made
    if made is None:
        reused = access.reused or {}
        say(
            f"Using the access key {reused.get('name')!r} ({reused.get('prefix')}…) kept for {client.value} in "
            f"{access.kept_in}; no new key was made."
        )
        return
    if access.replaced:
        say(f"The key kept for {client.value} ({access.replaced}) no longer works (revoked or removed).")
    kept = f"kept in {access.kept_in} (readable only by you) for the next export" if access.kept_in else access.problem
    say(f"Created the access key {made.get('name')!r} ({made.get('prefix')}…, id {made.get('id')}) for {slug}; {kept}.")
    if access.others:
        listed = ", ".join(f"{item['name']!r} ({item['prefix']}…, id {item['id']})" for item in access.others)
        say(
            f"{slug} has {len(access.others)} other active key(s) made by `config export`: {listed}. "
            f"Revoke those no longer in use with `mcphost servers keys revoke {slug} ID`."
        )


def default_path(client: ClientName) -> Path:
    """The configuration file of ``client`` on this machine (VS Code: the workspace's, in the current directory)."""
    home = Path.home()
    if client is ClientName.cursor:
        return home / ".cursor" / "mcp.json"
    if client is ClientName.vscode:
        return Path.cwd() / ".vscode" / "mcp.json"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming") / "Claude" / "claude_desktop_config.json"
    base = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(base) / "Claude" / "claude_desktop_config.json"


def fill_key(value: Any, key: str) -> Any:
    """``value`` with every ``<ACCESS_KEY>`` placeholder in its strings replaced by ``key``."""
    if isinstance(value, str):
        return value.replace(KEY_PLACEHOLDER, key)
    if isinstance(value, dict):
        return {name: fill_key(item, key) for name, item in value.items()}
    if isinstance(value, list):
        return [fill_key(item, key) for item in value]
    return value


def merge(existing: dict[str, Any], content: dict[str, Any], servers_key: str) -> dict[str, Any]:
    """``existing`` with the servers of ``content`` added or replaced by name, and its ``inputs`` by id."""
    merged = dict(existing)
    servers = merged.get(servers_key, {})
    if not isinstance(servers, dict):
        raise ValueError(f"its {servers_key!r} is not a JSON object")
    merged[servers_key] = {**servers, **content[servers_key]}
    if "inputs" in content:
        inputs = merged.get("inputs", [])
        if not isinstance(inputs, list):
            raise ValueError("its 'inputs' is not a JSON array")
        new_ids = {item.get("id") for item in content["inputs"]}
        kept = [item for item in inputs if not (isinstance(item, dict) and item.get("id") in new_ids)]
        merged["inputs"] = kept + list(content["inputs"])
    return merged


def merge_into(target: Path, content: dict[str, Any], servers_key: str) -> Path | None:
    """Merge ``content`` into the JSON file ``target``; the backup made of the existing file, if there was one."""
    target = target.expanduser()
    if target.is_symlink():
        target = target.resolve()
    try:
        text: str | None = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {target}: {exc}")
    existing: Any = {}
    if text is not None and text.strip():
        try:
            existing = json.loads(text)
        except ValueError as exc:
            fail(f"{target} is not valid JSON ({exc}); fix or move it first, it was left unchanged")
    if not isinstance(existing, dict):
        fail(f"{target} does not hold a JSON object; it was left unchanged")
    try:
        merged = merge(existing, content, servers_key)
    except ValueError as exc:
        fail(f"{target}: {exc}; it was left unchanged")
    body = json.dumps(merged, indent=2, ensure_ascii=False) + "\n"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        backup = None
        mode = 0o600
        if text is not None:
            mode = target.stat().st_mode & 0o7777
            backup = _backup(target, text)
        _write_atomically(target, body, mode)
    except OSError as exc:
        fail(f"cannot write {target}: {exc}")
    return backup


def _backup(target: Path, text: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = target.with_name(f"{target.name}.{stamp}.bak")
    number = 1
    while backup.exists():
        number += 1
        backup = target.with_name(f"{target.name}.{stamp}-{number}.bak")
    descriptor = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, target.stat().st_mode & 0o777)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    return backup


def _write_atomically(target: Path, body: str, mode: int) -> None:
    descriptor, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(staging, mode)
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
