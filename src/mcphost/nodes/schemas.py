"""Response models of the node endpoint."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from mcphost.nodes.directory import NodeState


class NodeOut(BaseModel):
    name: str = Field(description="The node's name (runtime.node_name of the process hosting it).")
    internal_url: str = Field(description="Where other replicas forward requests for its servers.")
    state: NodeState = Field(
        description="up; down (its heartbeat is older than nodes.down_after_seconds); stopped (it stopped cleanly)."
    )
    down_since: datetime | None = Field(description="Since when it is down or stopped.")
    started_at: datetime
    heartbeat_at: datetime = Field(description="Its last heartbeat.")
    stopped_at: datetime | None
    version: str = Field(description="The MCP Host version it runs.")
    servers: int = Field(description="Servers it hosts.")
