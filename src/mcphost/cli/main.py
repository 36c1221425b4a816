"""The Typer application behind ``mcphost`` and ``mcpctl``."""

from __future__ import annotations

import typer

from mcphost import __version__
from mcphost.cli import admin as admin_cli
from mcphost.cli import bridge as bridge_cli
from mcphost.cli import catalog as catalog_cli
from mcphost.cli import config, db, me, server, servers, session
from mcphost.cli import evals as evals_cli
from mcphost.cli import events as events_cli
from mcphost.cli import nodes as nodes_cli
from mcphost.cli import orgs as orgs_cli
from mcphost.cli import tokens as tokens_cli
from mcphost.cli import vectors as vectors_cli
from mcphost.cli import workflows as workflows_cli
from mcphost.cli.connect import connect
from mcphost.cli.dev import dev
from mcphost.cli.scaffold import create
from mcphost.cli.sdk import sdk

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
app.add_typer(me.app, name="me")
app.add_typer(catalog_cli.app, name="catalog")
app.add_typer(tokens_cli.app, name="tokens")
app.add_typer(orgs_cli.app, name="orgs")
app.add_typer(admin_cli.users_app, name="users")
app.add_typer(admin_cli.jobs_app, name="jobs")
app.add_typer(nodes_cli.app, name="nodes")
app.add_typer(events_cli.app, name="events")
app.add_typer(evals_cli.app, name="evals")
app.add_typer(vectors_cli.app, name="vectors")
app.add_typer(vectors_cli.ingest_app, name="ingest")
app.add_typer(workflows_cli.app, name="workflows")
app.add_typer(db.app, name="db")
app.add_typer(config.app, name="config")
app.add_typer(bridge_cli.app, name="bridge")
app.command()(connect)
app.command()(sdk)
app.command()(create)
app.command()(dev)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def run() -> None:
    app()
