"""``mcphost db``: apply and inspect migrations."""

from __future__ import annotations

import asyncio

import typer

from mcphost.cli.options import HomeOption, load_settings

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(home: HomeOption = None) -> None:
    """Apply pending migrations."""
    from mcphost.db import migrate
    from mcphost.db.engine import create_engine
    from mcphost.settings import mask_url

    settings = load_settings(home)

    async def run() -> str | None:
        engine = create_engine(settings)
        try:
            await migrate.upgrade(engine)
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(run())
    typer.echo(f"{mask_url(settings.effective_database_url)} is at revision {revision} (newest)")


@app.command()
def current(home: HomeOption = None) -> None:
    """Show the database's revision and the newest one; exit 1 when migrations are pending."""
    from mcphost.db import migrate
    from mcphost.db.engine import create_engine

    settings = load_settings(home)

    async def run() -> str | None:
        engine = create_engine(settings)
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    revision, head = asyncio.run(run()), migrate.head_revision()
    typer.echo(f"current: {revision or 'empty'}\nnewest:  {head}")
    if revision != head:
        raise typer.Exit(1)
