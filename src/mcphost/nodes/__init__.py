"""Nodes: the processes that host servers, their internal addresses and heartbeats (ADR 0015).

``heartbeat`` registers this process's node and keeps it alive; ``directory`` is every replica's cached view of the
nodes (who is up, where to forward), refreshed by heartbeat and by events, never read per request."""
