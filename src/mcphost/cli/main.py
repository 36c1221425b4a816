"""The Typer application behind ``mcphost`` and ``mcpctl``."""

from __future__ import annotations

import typer

from mcphost import __version__
from mcphost.cli import config, db, server, servers, session

app = typer.Typer(
    name="mcphost",
    help="MCP Host: deploy, run, secure and observe MCP servers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(server.up)
app.command()(server.worker)
app.command()(session.login)
app.command()(session.logout)
app.command()(session.whoami)
app.add_typer(servers.app, name="servers")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def run() -> None:
    app()
