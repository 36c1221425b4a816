"""What hosting servers on this node needs from the process that runs it, as a protocol.

The node agent and its instance pool are given these parts (a ``Platform`` has all of them) instead of importing
whatever assembles them: imports point down, to the database, the keys, the runtimes and the metrics."""

from __future__ import annotations

from typing import Protocol

from mcphost.db.session import Database
from mcphost.observability.metrics import Metrics
from mcphost.runtimes.registry import Runtimes
from mcphost.secretstore import SecretStore
from mcphost.security.keys import KeyRing
from mcphost.settings import Settings

__all__ = ["NodeParts"]


class NodeParts(Protocol):
    """The settings, database, key ring, runtimes, metrics and secret store the node's hosting works with."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def keys(self) -> KeyRing: ...

    @property
    def runtimes(self) -> Runtimes: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def secret_store(self) -> SecretStore: ...
