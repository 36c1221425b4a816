"""``mcphost bridge``: what runs inside a stdio server's Kubernetes pod beside the server (``gateway/stdio_bridge.py``).

mcphost bridge fifos DIR          the init container: make the two FIFOs of the server's stdin and stdout in DIR
mcphost bridge serve --dir DIR    the bridge container: serve them as Streamable HTTP at /mcp (token from
                                  $MCPHOST_BRIDGE_TOKEN)
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from mcphost.cli.output import fail

app = typer.Typer(help="The stdio bridge of a server's Kubernetes pod (run by MCP Host, not by hand).")
TOKEN_VARIABLE = "MCPHOST_BRIDGE_TOKEN"  # noqa: S105 (the name of a variable)


@app.command()
def fifos(directory: Annotated[Path, typer.Argument(help="The shared volume's directory.")]) -> None:
    """Make the server's two FIFOs (``in`` and ``out``, mode 0600) in DIR."""
    for name in ("in", "out"):
        (directory / name).unlink(missing_ok=True)
        os.mkfifo(directory / name, 0o600)
    typer.echo(f"made {directory}/in and {directory}/out")


@app.command()
def serve(
    directory: Annotated[Path, typer.Option("--dir", help="Where the FIFOs are.")] = Path("/run/mcphost-stdio"),
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "0.0.0.0",  # noqa: S104 (a pod's port)
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8080,
    open_timeout: Annotated[float, typer.Option(help="Seconds to wait for the server to open its input.")] = 120.0,
) -> None:
    """Serve the server's stdio as Streamable HTTP at /mcp until the pod stops."""
    from mcphost.gateway.stdio_bridge import serve as serve_bridge

    token = os.environ.get(TOKEN_VARIABLE, "")
    if len(token) < 16:
        fail(f"${TOKEN_VARIABLE} must hold the bridge's bearer token (at least 16 characters)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    raise typer.Exit(asyncio.run(serve_bridge(directory, host, port, token, open_timeout)))
