"""What a pod's status means for its server, in words: the reasons the API server reports (image pull errors, crash
loops, OOM kills, an unschedulable pod, a quota that refuses the pod) become the messages users see. Objects are
read as the API server serialises them (dicts with camelCase keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Exit", "Verdict", "exit_of", "ready", "verdict", "workload_refusal"]

PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
CONFIG_FAILURES = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})


@dataclass(frozen=True)
class Verdict:
    """How a pod that is not ready yet stands: ``fatal`` ends the start with ``message``."""

    fatal: bool
    message: str


@dataclass(frozen=True)
class Exit:
    code: int
    reason: str


def _get(document: Any, *path: str) -> Any:
    """A field of an object as the API server serialises it (camelCase keys), or None."""
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _statuses(pod: Any, init: bool = False) -> list[Any]:
    return list(_get(pod, "status", "initContainerStatuses" if init else "containerStatuses") or [])


def ready(pod: Any) -> bool:
    conditions = _get(pod, "status", "conditions") or []
    return any(_get(c, "type") == "Ready" and _get(c, "status") == "True" for c in conditions)


def _describe_termination(name: str, terminated: Any) -> str:
    code, reason = _get(terminated, "exitCode"), _get(terminated, "reason") or "Error"
    if reason == "OOMKilled":
        return f"the {name} container was killed for using more memory than its limit (OOMKilled, exit {code})"
    message = (_get(terminated, "message") or "").strip()
    return f"the {name} container exited with code {code} ({reason}{': ' + message if message else ''})"


def verdict(pod: Any) -> Verdict | None:
    """Why a pod is not ready, or None when it is merely on its way (pending, starting, pulling)."""
    for init in (True, False):
        for status in _statuses(pod, init):
            name = _get(status, "name")
            waiting = _get(status, "state", "waiting")
            reason = _get(waiting, "reason") or ""
            message = (_get(waiting, "message") or "").strip()
            if reason in PULL_FAILURES:
                image = _get(status, "image")
                return Verdict(True, f"the image {image} cannot be pulled ({reason}): {message or 'no details'}")
            if reason in CONFIG_FAILURES:
                return Verdict(True, f"the {name} container cannot be created ({reason}): {message}")
            last = _get(status, "lastState", "terminated")
            if reason == "CrashLoopBackOff" and last is not None:
                return Verdict(True, f"{_describe_termination(name, last)}, again and again (CrashLoopBackOff)")
            terminated = _get(status, "state", "terminated")
            if terminated is not None and (not init or _get(terminated, "exitCode") != 0):
                return Verdict(True, _describe_termination(name, terminated))
    for condition in _get(pod, "status", "conditions") or []:
        if _get(condition, "type") == "PodScheduled" and _get(condition, "reason") == "Unschedulable":
            return Verdict(False, f"waiting for a node: {_get(condition, 'message')}")
    if _get(pod, "status", "phase") == "Failed":
        return Verdict(True, f"the pod failed: {_get(pod, 'status', 'reason')}: {_get(pod, 'status', 'message')}")
    return None


def exit_of(pod: Any, restarts_before: int) -> Exit | None:
    """The server container's exit since it was last seen running (``restarts_before`` restarts then), if any."""
    for status in _statuses(pod):
        if _get(status, "name") != "server":
            continue
        terminated = _get(status, "state", "terminated")
        if terminated is None and (_get(status, "restartCount") or 0) > restarts_before:
            terminated = _get(status, "lastState", "terminated")
        if terminated is not None:
            return Exit(int(_get(terminated, "exitCode") or 0), _describe_termination("server", terminated))
    return None


def restarts(pod: Any) -> int:
    return sum(int(_get(status, "restartCount") or 0) for status in _statuses(pod) if _get(status, "name") == "server")


def workload_refusal(workload: Any) -> str | None:
    """Why the workload's controller cannot make its pod (e.g. the namespace's quota is exceeded), or None."""
    for condition in _get(workload, "status", "conditions") or []:
        if _get(condition, "type") == "ReplicaFailure" and _get(condition, "status") == "True":
            return f"the pod cannot be created: {_get(condition, 'message')}"
    return None
