"""The order of a workflow's steps: each step's dependencies (its explicit ``needs`` and the steps its templates
refer to), cycles named step by step, and which steps are upstream of which."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["find_cycle", "sinks", "upstream_of"]


def find_cycle(needs: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as the steps along it, the first repeated at the end (``a → b → a``), or None. ``needs`` maps each
    step to the steps it depends on; the steps are visited in their given order, so the answer is stable."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(step: str) -> list[str] | None:
        state[step] = 1
        path.append(step)
        for needed in needs.get(step, ()):
            if state.get(needed) == 1:
                return [*path[path.index(needed) :], needed]
            if needed not in state:
                found = visit(needed)
                if found is not None:
                    return found
        path.pop()
        state[step] = 2
        return None

    for step in needs:
        if step not in state:
            cycle = visit(step)
            if cycle is not None:
                # Read in the order steps run: each one needs the one before it, so reverse the path of needs.
                return cycle[::-1]
    return None


def upstream_of(needs: Mapping[str, Sequence[str]], step: str) -> set[str]:
    """Every step that must finish before ``step`` (transitively)."""
    seen: set[str] = set()
    pending = list(needs.get(step, ()))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(needs.get(current, ()))
    return seen


def sinks(needs: Mapping[str, Sequence[str]]) -> list[str]:
    """The steps no other step depends on (the workflow's final steps), in definition order."""
    needed = {dependency for dependencies in needs.values() for dependency in dependencies}
    return [step for step in needs if step not in needed]
