"""``mcphost up`` (API, services and, later, gateway and console in one process) and ``mcphost worker``."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer

from mcphost.cli.options import HomeOption, load_settings


def up(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).", show_default=False)
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8700).", show_default=False)] = None,
    home: HomeOption = None,
    no_services: Annotated[
        bool, typer.Option("--no-services", help="Serve HTTP only; run services elsewhere.")
    ] = False,
) -> None:
    """Run MCP Host: the API and the background services in one process."""
    import uvicorn

    from mcphost.api import create_app
    from mcphost.cli.banner import print_banner
    from mcphost.cli.serving import Server
    from mcphost.observability.logging import configure_logging

    settings = load_settings(home, host=host, port=port)
    configure_logging(settings.logging)
    app = create_app(settings, run_services=False if no_services else None)
    trusted = settings.server.trusted_proxies
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=",".join(trusted) if trusted else None,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = Server(config, on_exit=app.state.platform.bus.fanout.close_all)
    print_banner(settings, services=not no_services and settings.services.enabled)
    server.run()


def worker(home: HomeOption = None) -> None:
    """Run only the background services (job worker, maintenance), for scaling out next to API replicas."""
    from mcphost.observability.logging import configure_logging

    settings = load_settings(home)
    configure_logging(settings.logging)
    if settings.is_sqlite:
        typer.secho(
            "note: with SQLite, a separate worker shares jobs but not live events; use PostgreSQL to scale out.",
            fg="yellow",
            err=True,
        )
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Any) -> None:
    from mcphost.platform import Platform

    platform = Platform.create(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await platform.start(services=True)
    names = ", ".join(loop.name for loop in platform.services.loops)
    typer.echo(f"mcphost worker running ({names}); Ctrl+C stops it", err=True)
    try:
        await stop.wait()
    finally:
        await platform.stop()
