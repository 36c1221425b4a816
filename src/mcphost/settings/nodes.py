"""Nodes: how the processes that host servers find each other (ADR 0015). Each hosting process registers its node
with an internal address and a heartbeat; a gateway replica forwards requests for a server hosted elsewhere to that
node's address, signed with a key every replica derives from the shared secret key."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class NodeSettings(BaseModel):
    """Nodes that host servers, and calls between replicas."""

    internal_url: str | None = Field(
        None,
        description="Where other replicas reach this node's gateway, e.g. http://10.0.0.5:8700 (default: the "
        "address mcphost up listens on; the host name when it listens on every interface).",
    )
    heartbeat_seconds: float = Field(5.0, gt=0, description="How often a hosting process records that it is alive.")
    down_after_seconds: float = Field(
        15.0,
        gt=0,
        description="A node whose last heartbeat is older than this is down: requests for its servers get 503.",
    )
    forward_connect_timeout_seconds: float = Field(
        2.0, gt=0, description="Longest wait for a connection to the node a request is forwarded to."
    )
    internal_call_max_age_seconds: float = Field(
        30.0,
        gt=0,
        description="A signed call between replicas older (or further in the future) than this is refused; "
        "replicas' clocks must agree within it.",
    )
    shared_sessions: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Keep client sessions of HTTP upstreams in the database so any replica continues them "
        "('auto': with PostgreSQL).",
    )

    @model_validator(mode="after")
    def _down_after_heartbeats(self) -> NodeSettings:
        if self.down_after_seconds <= self.heartbeat_seconds:
            raise ValueError("nodes.down_after_seconds must be longer than nodes.heartbeat_seconds")
        return self
