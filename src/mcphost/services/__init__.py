"""Background services: loops that run inside ``mcphost up`` or, for scale-out, ``mcphost worker``."""

from mcphost.services.loop import ServiceLoop
from mcphost.services.manager import ServiceManager

__all__ = ["ServiceLoop", "ServiceManager"]
