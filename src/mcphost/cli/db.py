"""``mcphost db``: apply and inspect migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from mcphost.cli.options import HomeOption, load_settings

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


def _revision_after(home: Path | None, *, upgrade: bool) -> tuple[str, str | None]:
    """The database (password hidden) and its revision, after applying migrations if asked."""
    from mcphost.db import migrate
    from mcphost.db.engine import create_engine
    from mcphost.settings import mask_url

    settings = load_settings(home)

    async def run() -> str | None:
        engine = create_engine(settings)
        try:
            if upgrade:
                await migrate.upgrade(engine)
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    return mask_url(settings.effective_database_url), asyncio.run(run())


@app.command()
def upgrade(home: HomeOption = None) -> None:
    """Apply pending migrations."""
    database, revision = _revision_after(home, upgrade=True)
    typer.echo(f"{database} is at revision {revision} (newest)")


@app.command()
def current(home: HomeOption = None) -> None:
    """Show the database's revision and the newest one; exit 1 when migrations are pending."""
    from mcphost.db import migrate

    _, revision = _revision_after(home, upgrade=False)
    head = migrate.head_revision()
    typer.echo(f"current: {revision or 'empty'}\nnewest:  {head}")
    if revision != head:
        raise typer.Exit(1)
