"""Options shared by commands and how they turn into ``Settings``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mcphost.settings import Settings

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Data directory (default: $MCPHOST_HOME or ~/.mcphost).", show_default=False),
]


def load_settings(home: Path | None = None, **server: Any) -> Settings:
    """Settings from the environment, with command-line options taking precedence."""
    from pydantic import ValidationError

    from mcphost.settings import Settings

    overrides: dict[str, Any] = {}
    if home is not None:
        overrides["home"] = home
    server = {key: value for key, value in server.items() if value is not None}
    if server:
        overrides["server"] = server
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(f"invalid configuration: {problems}") from None
