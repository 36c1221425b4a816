"""Which quick actions (start, stop, restart) a server's status allows.

One table serves both sides: the action buttons carry the statuses in which they apply (``data-when``), so
console.js shows only those that make sense as the status changes live; and the console's action endpoints
refuse, with a message that says why and what to do instead, an action that cannot apply (a page whose live
stream fell behind still shows a stale button). The API stays as it is: asking it for the state a server is
already in is accepted and changes nothing, which scripts rely on.
"""

from __future__ import annotations

from mcphost.errors import InvalidTransition
from mcphost.models import Server, ServerStatus

S = ServerStatus
#: The statuses in which each action does something (delete always applies, and is not listed).
WHEN: dict[str, frozenset[ServerStatus]] = {
    "start": frozenset({S.STOPPED, S.STOPPING, S.ERROR}),
    "stop": frozenset(
        {S.PENDING, S.INSTALLING, S.CLONING, S.BUILDING, S.PUSHING, S.STARTING, S.RUNNING, S.UPDATING, S.CRASHED}
    ),
    "restart": frozenset({S.RUNNING, S.UPDATING, S.CRASHED}),
}
ACTIONS = tuple(WHEN)

_WHY_NOT: dict[tuple[str, ServerStatus], str] = {
    ("start", S.RUNNING): "it is already running",
    ("start", S.PENDING): "it is already starting",
    ("start", S.INSTALLING): "it is already starting (installing)",
    ("start", S.CLONING): "it is already starting (cloning its repository)",
    ("start", S.BUILDING): "it is already starting (building its image)",
    ("start", S.PUSHING): "it is already starting (pushing its image)",
    ("start", S.STARTING): "it is already starting",
    ("start", S.UPDATING): "it is running (its previous revision serves while the new one starts)",
    ("start", S.CRASHED): "it crashed and restarts by itself; use Restart to restart it now",
    ("stop", S.STOPPED): "it is already stopped",
    ("stop", S.STOPPING): "it is already stopping",
    ("stop", S.ERROR): "it is not running (it stopped with an error); use Start to try again",
    ("restart", S.PENDING): "it is still starting; wait until it runs, or stop it",
    ("restart", S.INSTALLING): "it is still installing; wait until it runs, or stop it",
    ("restart", S.CLONING): "it is still being built; wait until it runs, or stop it",
    ("restart", S.BUILDING): "it is still being built; wait until it runs, or stop it",
    ("restart", S.PUSHING): "it is still being built; wait until it runs, or stop it",
    ("restart", S.STARTING): "it is still starting; wait until it runs, or stop it",
    ("restart", S.STOPPED): "it is not running; use Start",
    ("restart", S.STOPPING): "it is stopping; use Start to run it again",
    ("restart", S.ERROR): "it is not running (it stopped with an error); use Start to try again",
}


def applies(action: str, status: ServerStatus) -> bool:
    return status in WHEN[action]


def when(action: str) -> str:
    """The statuses in which ``action`` applies, space-separated (the buttons' ``data-when``)."""
    return " ".join(sorted(status.value for status in WHEN[action]))


def check(server: Server, action: str) -> None:
    """Raise InvalidTransition (409) with a readable reason when ``action`` cannot apply to ``server`` now."""
    if applies(action, server.status):
        return
    why = _WHY_NOT.get((action, server.status), f"it is {server.status.value}; wait until it settles")
    raise InvalidTransition(f"Cannot {action} {server.name}: {why}.", details={"status": server.status.value})
