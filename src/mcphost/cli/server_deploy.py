"""``mcphost servers deploy`` (from the catalog) and ``servers create`` (a package or a command).

``deploy`` asks for the catalog entry's required inputs that ``--set``/``--secret`` did not give, secrets
without echo; without a terminal to ask on, it names what is missing and exits with 2. The new server's
endpoint and access key are printed (the key only this once); ``--wait`` then follows its status.
"""

from __future__ import annotations

import enum
import shlex
import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from mcphost.cli.follow import DEFAULT_TIMEOUT, TimeoutOption, WaitFailed, WaitOption, wait_for
from mcphost.cli.output import JsonOption, UrlOption, console, esc, fail, print_json, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

Isolation = Literal["shared", "per_user", "per_session"]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", "-s", help="An input or environment variable as KEY=VALUE; repeat.")
]
SecretOption = Annotated[
    list[str] | None, typer.Option("--secret", help="A secret variable as KEY=VALUE (stored sealed); repeat.")
]


def deploy(
    catalog_name: Annotated[
        str,
        typer.Argument(
            help="The catalog entry: its name (io.github.modelcontextprotocol/time) or short name (time).",
            show_default=False,
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="The server's name (default: the entry's).", show_default=False)
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="The entry's version (default: the newest).", show_default=False)
    ] = None,
    set_: SetOption = None,
    secret: SecretOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy a server from the catalog, asking for the inputs it needs."""
    env = _pairs(set_, "--set")
    secret_env = _pairs(secret, "--secret")

    from mcphost.cli.catalog import find_entry

    entry = find_entry(catalog_name, version, url)
    inputs = {item["name"]: item for item in entry.get("inputs") or []}
    for key in list(env):  # a secret given with --set is still a secret
        if inputs.get(key, {}).get("secret"):
            secret_env[key] = env.pop(key)
    missing = [item for item in inputs.values() if item["required"] and item["name"] not in env | secret_env]
    if missing:
        if not sys.stdin.isatty():
            names = ", ".join(item["name"] for item in missing)
            hint = " ".join(f"{'--secret' if item['secret'] else '--set'} {item['name']}=…" for item in missing)
            fail(f"{entry['name']} needs {names}: pass {hint}", code=2)
        for item in missing:
            (secret_env if item["secret"] else env)[item["name"]] = _ask(item)
    source: dict[str, Any] = {"type": "catalog", "name": entry["name"], "version": version}
    fields: dict[str, Any] = {}
    if env:
        fields["env"] = env
    if secret_env:
        fields["secret_env"] = secret_env
    _create(name or _default_name(entry), source, fields, wait=wait, timeout=timeout, url=url, as_json=as_json)


class Transport(enum.StrEnum):
    STDIO = "stdio"
    STREAMABLE_HTTP = "streamable-http"


def create(
    name: Annotated[str, typer.Argument(help="The server's name.", show_default=False)],
    package: Annotated[
        str | None,
        typer.Option(
            "--package", "-p", help="A package as pypi:NAME[==VERSION] or npm:NAME\\[@VERSION].", show_default=False
        ),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            "--command", "-c", help='A program and its arguments: "prog args…" (no shell).', show_default=False
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", "-i", help="A container image: NAME[:TAG] or NAME@sha256:DIGEST.", show_default=False),
    ] = None,
    git: Annotated[
        str | None,
        typer.Option("--git", "-g", help="A git repository's URL to build an image from.", show_default=False),
    ] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="With --git: the branch, tag or commit (default: the remote's HEAD).")
    ] = None,
    subdir: Annotated[
        str | None, typer.Option("--subdir", help="With --git: the folder of the repository to build.")
    ] = None,
    dockerfile: Annotated[
        str | None, typer.Option("--dockerfile", help="With --git: the Dockerfile to use (default: detected).")
    ] = None,
    transport: Annotated[
        Transport | None,
        typer.Option("--transport", help="With --image or --git: how the server speaks MCP (default: stdio)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="With --image or --git: the port a streamable-http server listens on."),
    ] = None,
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            "-a",
            help="An argument for the program, after those of --command or --package (with --image or --git: the "
            "container's command instead of the image's); repeat, in order (e.g. --arg=--verbose).",
        ),
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option("--runtime", help="process or docker (default: chosen by the source and the settings)."),
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="An environment variable as KEY=VALUE; repeat.")
    ] = None,
    secret: SecretOption = None,
    isolation: Annotated[
        Isolation | None, typer.Option("--isolation", help="One instance (shared), per user or per session.")
    ] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deploy a server from a PyPI or npm package, a command, a container image or a git repository."""
    source = _source(package=package, command=command, image=image, git=git)
    _refine(source, ref=ref, subdir=subdir, dockerfile=dockerfile, transport=transport, port=port, arg=arg)
    fields: dict[str, Any] = {}
    if runtime:
        fields["runtime"] = runtime
    if env:
        fields["env"] = _pairs(env, "--env")
    if secret:
        fields["secret_env"] = _pairs(secret, "--secret")
    if isolation:
        fields["isolation"] = isolation
    _create(name, source, fields, wait=wait, timeout=timeout, url=url, as_json=as_json)


def _create(
    name: str,
    source: dict[str, Any],
    fields: dict[str, Any],
    *,
    wait: bool,
    timeout: float,
    url: str | None,
    as_json: bool,
) -> None:
    async def work(client: MCPHostClient) -> dict[str, Any]:
        created = await client.create_server(name, source, **fields)
        _print_created(created, as_json)
        if wait:
            try:
                created["status"] = (await wait_for(client, created, "running", within=timeout))["status"]
            except WaitFailed as exc:
                created["wait_error"] = exc.message
        return created

    created = run_api(work, url)
    if created.get("wait_error"):
        fail(created["wait_error"])
    if wait and not as_json:
        typer.echo(f"{created['slug']} is running")


def _print_created(created: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(created)
        return
    out = console()
    out.print(
        f"Created [bold]{esc(created['slug'])}[/] ({esc(created['id'])}) on the {esc(created['runtime'])} runtime"
    )
    out.print(f"endpoint:   {esc(created['endpoint_url'])}")
    out.print(f"access key: {esc(created['access_key'])}", soft_wrap=True)
    out.print("[dim]The access key is shown only now; `mcphost servers keys create` makes another.[/]")
    for warning in created.get("warnings") or []:
        out.print(f"[yellow]warning:[/] {esc(warning)}")


def _ask(item: dict[str, Any]) -> str:
    from rich.prompt import Prompt

    label = f"[bold]{esc(item['name'])}[/]"
    if item.get("description"):
        label += f" ({esc(item['description'])})"
    choices = item.get("choices") or None
    while True:
        value = Prompt.ask(
            label,
            console=console(stderr=True),
            password=bool(item.get("secret")),
            choices=choices,
            default=item.get("default"),
        )
        if value:
            return str(value)


def _default_name(entry: dict[str, Any]) -> str:
    return str(entry.get("title") or entry["name"].rsplit("/", 1)[-1])


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=option)
        pairs[key] = value
    return pairs


def _source(**given: str | None) -> dict[str, Any]:
    """The source of exactly one of --package, --command, --image and --git."""
    named = {option: value for option, value in given.items() if value is not None}
    if len(named) != 1:
        raise typer.BadParameter(
            "give exactly one of --package, --command, --image or --git", param_hint="--package/--command/--image/--git"
        )
    ((option, value),) = named.items()
    if option == "package":
        return _package_source(value)
    if option == "command":
        return _command_source(value)
    if option == "image":
        return {"type": "image", "image": value}
    return {"type": "git", "url": value}


_CONTAINER_ONLY = {"--transport": "transport", "--port": "port"}
_GIT_ONLY = {"--ref": "ref", "--subdir": "subdir", "--dockerfile": "dockerfile"}


def _refine(source: dict[str, Any], *, arg: list[str] | None, **options: Any) -> None:
    """Add the options that belong to this kind of source; an option that does not is an error, not ignored."""
    kind = source["type"]
    for flag, field in (_CONTAINER_ONLY | _GIT_ONLY).items():
        value = options[field]
        if value is None:
            continue
        allowed = ("image", "git") if flag in _CONTAINER_ONLY else ("git",)
        if kind not in allowed:
            raise typer.BadParameter(f"only with {' or '.join('--' + a for a in allowed)}", param_hint=flag)
        source[field] = value.value if isinstance(value, Transport) else value
    if not arg:
        return
    if kind == "package":
        source["args"] = list(arg)
    elif kind == "command":
        source["command"] = [*source["command"], *arg]
    else:
        source["command"] = list(arg)


def _package_source(spec: str) -> dict[str, Any]:
    registry, sep, rest = spec.partition(":")
    if not sep or registry not in ("pypi", "npm") or not rest:
        raise typer.BadParameter(f"{spec!r} is not pypi:NAME or npm:NAME", param_hint="--package")
    if registry == "pypi":
        identifier, _, version = rest.partition("==")
    else:  # npm: a scope starts with @, so the version's @ is the last one after the first character
        at = rest.rfind("@")
        identifier, version = (rest[:at], rest[at + 1 :]) if at > 0 else (rest, "")
    source: dict[str, Any] = {"type": "package", "registry_type": registry, "identifier": identifier}
    if version:
        source["version"] = version
    return source


def _command_source(command: str) -> dict[str, Any]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--command") from None
    if not argv:
        raise typer.BadParameter("names no program", param_hint="--command")
    return {"type": "command", "command": argv}
