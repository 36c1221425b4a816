"""``mcphost sdk SERVER --lang python|typescript -o DIR``: a typed client package for a hosted server's tools.

The package calls the server's gateway endpoint (``{url}/mcp/{slug}``) over Streamable HTTP with an access key
(a constructor argument, else ``$MCPHOST_KEY``). The tools are those the server offered at its last start.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import UrlOption, fail, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient


class Lang(StrEnum):
    python = "python"
    typescript = "typescript"


def sdk(
    server: Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)],
    lang: Annotated[Lang, typer.Option("--lang", "-l", help="The language of the package.", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The directory to write the package to.", show_default=False)
    ],
    package_name: Annotated[
        str | None,
        typer.Option(
            "--package-name",
            help="The package's name (default: SLUG_client for Python, SLUG-client for npm).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a directory that is not empty.")] = False,
    url: UrlOption = None,
) -> None:
    """Generate a typed client package (one method per tool) that calls the server through its endpoint."""
    from mcphost.sdkgen import Target
    from mcphost.sdkgen import python as python_sdk
    from mcphost.sdkgen import typescript as typescript_sdk

    generator = python_sdk if lang is Lang.python else typescript_sdk
    if package_name is not None and not generator.valid_package_name(package_name):
        kind = "a Python identifier" if lang is Lang.python else "a valid npm package name"
        raise typer.BadParameter(f"{package_name!r} is not {kind}", param_hint="--package-name")
    if output.exists() and not output.is_dir():
        fail(f"{output} exists and is not a directory")
    if output.is_dir() and any(output.iterdir()) and not force:
        fail(f"{output} is not empty; choose another directory or pass --force to overwrite the generated files")

    async def fetch(client: MCPHostClient) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        found = await client.resolve_server(server)
        tools = list((await client.capabilities(found["id"]))["tools"])
        return client.base_url, found, tools

    base_url, found, tools = run_api(fetch, url)
    slug = str(found["slug"])
    target = Target(
        server_name=str(found.get("name") or slug),
        slug=slug,
        endpoint=f"{base_url.rstrip('/')}/mcp/{slug}",
        package_name=package_name or generator.default_package_name(slug),
        tools=tools,
    )
    files = generator.render(target)
    try:
        for relative, content in files.items():
            path = output / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8", newline="\n")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")

    count = f"{len(tools)} tool{'' if len(tools) == 1 else 's'}"
    typer.echo(f"Wrote the {lang.value} package {target.package_name} ({count}) to {output}")
    if lang is Lang.python:
        typer.echo(
            f"Use it: pip install {output}, then `from {target.package_name} import {python_sdk.client_class(slug)}`"
        )
    else:
        typer.echo(f"Build it: cd {output} && npm install && npm run build")
    typer.echo("The key: set MCPHOST_KEY to an access key of the server (`mcphost servers keys create`), or pass it.")
