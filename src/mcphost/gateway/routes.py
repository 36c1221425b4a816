"""Where this replica sends a request for a server hosted by another node (ADR 0015): straight to the server's HTTP
upstream when the node recorded one this replica can reach (``servers/endpoints.py``) and the server is shared by
all its clients; else to the hosting node, which serves it as if the client had come to it.

Endpoints are cached per server (None too: a stdio server has none), loaded once on a miss and forgotten on the
events that may change them (``server.endpoint``, ``server.status``, ``server.updated``, ``server.deleted``); no
request reads the database once the cache knows the server."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Final

from sqlalchemy.exc import SQLAlchemyError

from mcphost.models import Isolation
from mcphost.security.secretbox import SecretDecryptionError
from mcphost.servers import endpoints
from mcphost.servers.endpoints import Endpoint

if TYPE_CHECKING:
    from mcphost.db.session import Database
    from mcphost.gateway.access import Grant
    from mcphost.security.keys import KeyRing

log = logging.getLogger(__name__)
MAX_CACHED: Final = 50_000
#: Events after which a server's endpoint may differ.
FORGETTING: Final = frozenset({"server.endpoint", "server.status", "server.updated", "server.deleted"})


class RouteTable:
    def __init__(self, db: Database, keys: KeyRing, machine: str) -> None:
        self.db = db
        self.keys = keys
        self.machine = machine
        self._endpoints: dict[uuid.UUID, Endpoint | None] = {}
        self._version = 0

    async def endpoint(self, server_id: uuid.UUID) -> Endpoint | None:
        """The server's HTTP endpoint (cached), None when it has none."""
        try:
            return self._endpoints[server_id]
        except KeyError:
            pass
        version = self._version
        try:
            found = await endpoints.load(self.db, self.keys, server_id)
        except (SQLAlchemyError, OSError, SecretDecryptionError) as exc:
            log.warning("could not read the endpoint of server %s: %s", server_id, exc)
            return None  # not cached: the next request asks again
        if version == self._version:  # not forgotten while it was read
            if len(self._endpoints) >= MAX_CACHED:
                self._endpoints.clear()
            self._endpoints[server_id] = found
        return found

    def direct(self, grant: Grant, endpoint: Endpoint | None) -> bool:
        """Whether this replica relays to the server's upstream itself rather than forwarding to its node."""
        return (
            endpoint is not None
            and endpoint.session_id is not None
            and grant.isolation is Isolation.SHARED
            and endpoint.reachable_from(self.machine)
        )

    def forget(self, server_id: uuid.UUID) -> None:
        self._version += 1
        self._endpoints.pop(server_id, None)
