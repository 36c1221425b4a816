"""Which file paths the API takes: relative, made of plain names. Checked before anything touches the disk; the
walk in ``storage`` then refuses symlinks, so a valid path can still only name something inside the directory."""

from __future__ import annotations

import unicodedata

from mcphost.errors import ValidationFailed

MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255
#: Names the platform writes while an upload streams; never listed, never taken as a target.
TEMP_PREFIX = ".mcphost-upload-"


def parse_path(path: str, *, allow_root: bool = False) -> tuple[str, ...]:
    """The components of ``path`` ("a/b/c.txt" → ("a", "b", "c.txt")); a clear 422 for anything else: absolute
    paths, ``.``/``..``, empty components, backslashes, NUL and control characters, names over 255 bytes."""
    if path in ("", "/") and allow_root:
        return ()
    if not path:
        raise _bad(path, "the path is empty")
    if len(path) > MAX_PATH_CHARS:
        raise _bad(path[:60] + "…", f"the path is longer than {MAX_PATH_CHARS} characters")
    if path.startswith("/"):
        raise _bad(path, "the path is absolute; give it relative to /data (e.g. notes/a.txt)")
    if "\\" in path:
        raise _bad(path, "backslashes are not path separators here; use /")
    if any(unicodedata.category(char) == "Cc" for char in path):
        raise _bad(path, "the path contains a control character (NUL, newline, …)")
    parts = tuple(path.removesuffix("/").split("/"))
    for part in parts:
        if part in ("", ".", ".."):
            raise _bad(path, "every component must be a name: no empty components, '.' or '..'")
        if len(part.encode()) > MAX_NAME_BYTES:
            raise _bad(path, f"a name is longer than {MAX_NAME_BYTES} bytes")
        if part.startswith(TEMP_PREFIX):
            raise _bad(path, f"names starting with {TEMP_PREFIX} are the platform's own (uploads in progress)")
    return parts


def parse_name(name: str) -> str:
    """A single file name (a multipart upload's filename): its last component, checked like a path."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    (part,) = parse_path(base) if base else parse_path("")
    return part


def _bad(path: str, why: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid file path {path!r}: {why}.", code="invalid_path")
