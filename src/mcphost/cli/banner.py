"""What ``mcphost up`` prints: where the instance is and what to do next."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel

from mcphost import __version__
from mcphost.settings import Settings, mask_url


def print_banner(settings: Settings, *, services: bool) -> None:
    url = settings.effective_public_url
    lines = [
        f"[bold]MCP Host {__version__}[/bold] is starting at [link={url}]{url}[/link]",
        "",
        f"  API docs   {url}/api/docs",
        f"  health     {url}/healthz   ready: {url}/readyz   metrics: {url}/metrics",
        f"  data       {settings.home}",
        f"  database   {mask_url(settings.effective_database_url)}",
        f"  services   {'running in this process' if services else 'off (run `mcphost worker`)'}",
        "",
        f"[bold]Next[/bold]: open [link={url}]{url}[/link] in a browser",
        "  and sign up (the first account becomes the administrator) or sign in.",
        f"  From a terminal afterwards: mcphost login --url {url}",
    ]
    console = Console(stderr=True)
    if not console.is_terminal:  # logs and pipes: keep each line whole rather than wrapped at 80 columns
        console = Console(stderr=True, width=200)
    console.print(Panel("\n".join(lines), expand=False, border_style="cyan"))
