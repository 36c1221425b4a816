"""``mcphost create``: scaffold a new MCP server project (server with an example tool, ``server.json``, tests,
README) that deploys with ``mcphost servers create``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mcphost.cli.output import fail


class Lang(StrEnum):
    python = "python"
    typescript = "typescript"


def create(
    name: Annotated[
        str, typer.Argument(help="The server's name (made into a valid package name).", show_default=False)
    ],
    lang: Annotated[Lang, typer.Option("--lang", "-l", help="The project's language.")] = Lang.python,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The project directory (default: ./NAME).", show_default=False),
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", help="The registry namespace in server.json, e.g. io.github.<you>.")
    ] = "io.github.example",
) -> None:
    """Scaffold a new MCP server project."""
    from mcphost.scaffold import names_for, render

    try:
        names = names_for(name, namespace)
    except ValueError as exc:
        fail(str(exc))
    target = output if output is not None else Path(names.dist)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(f"{target} already exists and is not empty; choose another directory with -o")
    files = render(names, lang.value)
    try:
        for relative, text in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}")
    _next_steps(target, names.dist, names.module, lang)


def _next_steps(target: Path, dist: str, module: str, lang: Lang) -> None:
    from mcphost.cli.output import console, esc

    out = console()
    out.print(f"[green]created[/] {esc(dist)} ({lang.value}) in {esc(target)}")
    out.print("next steps:")
    out.print(f"  cd {esc(target)}")
    if lang is Lang.python:
        out.print(esc("  pip install -e '.[dev]' && pytest"))
        out.print(f"  mcphost dev -- python -m {esc(module)}")
        out.print(f'  mcphost servers create {esc(dist)} --command "python -m {esc(module)}" --wait')
    else:
        out.print("  npm install && npm run build")
        out.print("  mcphost dev -- node build/index.js")
        out.print(f'  mcphost servers create {esc(dist)} --command "node build/index.js" --wait')
