"""File system helpers for checkouts: paths that must stay inside a tree, and the size of a tree."""

from __future__ import annotations

import os
from pathlib import Path

from mcphost.runtimes.base import PrepareFailed

__all__ = ["inside", "tree_size"]


def inside(root: Path, relative: str, what: str) -> Path:
    """``root/relative`` with symlinks resolved, refused when it leads outside ``root``."""
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise PrepareFailed(f"{what} {relative!r} leads outside the repository")
    return target


def tree_size(root: Path, limit: int | None = None) -> int:
    """Bytes used by the files under ``root`` (symlinks not followed); stops counting once above ``limit``."""
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                if limit is not None and total > limit:
                    return total
    return total
