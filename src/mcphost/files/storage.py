"""The data directory on disk, reached as hostile code might have left it: every path is walked one component at a
time from the directory's own descriptor with ``O_NOFOLLOW`` (a symlink anywhere on the way is refused, never
followed), only regular files are opened (a FIFO or a device is refused before it is opened), and uploads are written
to a temporary file beside the target and renamed over it once complete, so nothing half-written is ever visible.

Blocking calls; the service runs them in threads."""

from __future__ import annotations

import errno
import hashlib
import mimetypes
import os
import secrets
import shutil
import stat
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mcphost.errors import Conflict, NotFound
from mcphost.files.paths import TEMP_PREFIX

CHUNK = 256 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_SUMS: OrderedDict[tuple[int, int, int, int], str] = OrderedDict()
_SUMS_KEPT = 4096


@dataclass(frozen=True)
class Entry:
    """One entry of a directory as the API shows it."""

    name: str
    path: str
    type: str  # file, directory, symlink, other
    size: int | None
    modified_at: datetime
    sha256: str | None = None
    content_type: str | None = None


def content_type_of(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def _shown(parts: tuple[str, ...]) -> str:
    return "/".join(parts) or "/"


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


def _refuse(parts: tuple[str, ...], mode: int) -> Conflict:
    kind = _kind(mode)
    if kind == "symlink":
        return Conflict(
            f"{_shown(parts)} is a symbolic link; the files API never follows links (the server made it).",
            code="symlink_refused",
        )
    if kind == "directory":
        return Conflict(f"{_shown(parts)} is a directory.", code="is_a_directory")
    if kind == "file":
        return Conflict(f"{_shown(parts)} is a file, not a directory.", code="not_a_directory")
    return Conflict(
        f"{_shown(parts)} is not a regular file (a FIFO, socket or device); only regular files are served.",
        code="not_a_regular_file",
    )


@contextmanager
def directory(root: Path, parts: tuple[str, ...], *, create: bool = False) -> Iterator[int]:
    """A descriptor of the directory ``parts`` names under ``root`` (made, with its parents, when ``create``)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, _DIR_FLAGS)
    try:
        for index, part in enumerate(parts):
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise NotFound(f"No directory {_shown(parts[: index + 1])} in the server's files.") from None
                with suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                child = _open_dir_or_refuse(fd, part, parts[: index + 1])
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                raise _refuse(parts[: index + 1], os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _open_dir_or_refuse(parent: int, name: str, parts: tuple[str, ...]) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        raise _refuse(parts, os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode) from None


def lstat_in(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_regular(dir_fd: int, name: str, parts: tuple[str, ...]) -> tuple[int, os.stat_result]:
    """Open a regular file for reading: anything else (a symlink, a FIFO, a device, a directory) is refused, and
    what is opened is checked again (it may have been swapped between the look and the open)."""
    found = lstat_in(dir_fd, name)
    if found is None:
        raise NotFound(f"No file {_shown(parts)} in the server's files.")
    if not stat.S_ISREG(found.st_mode):
        raise _refuse(parts, found.st_mode)
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(parts, stat.S_IFLNK) from None
        if exc.errno == errno.ENOENT:
            raise NotFound(f"No file {_shown(parts)} in the server's files.") from None
        raise
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        raise _refuse(parts, opened.st_mode)
    return fd, opened


def _sum_key(found: os.stat_result) -> tuple[int, int, int, int]:
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


def remember_sum(found: os.stat_result, digest: str) -> None:
    _SUMS[_sum_key(found)] = digest
    _SUMS.move_to_end(_sum_key(found))
    while len(_SUMS) > _SUMS_KEPT:
        _SUMS.popitem(last=False)


def checksum(dir_fd: int, name: str, parts: tuple[str, ...]) -> str:
    """The file's sha256, remembered while its inode, size and mtime stay the same (the server may change it)."""
    fd, found = open_regular(dir_fd, name, parts)
    try:
        known = _SUMS.get(_sum_key(found))
        if known is not None:
            return known
        digest = hashlib.sha256()
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
    finally:
        os.close(fd)
    remember_sum(found, digest.hexdigest())
    return digest.hexdigest()


def entry_of(dir_fd: int, name: str, parts: tuple[str, ...], found: os.stat_result) -> Entry:
    kind = _kind(found.st_mode)
    modified = datetime.fromtimestamp(found.st_mtime, UTC)
    if kind != "file":
        return Entry(name, _shown(parts), kind, None, modified)
    try:
        digest: str | None = checksum(dir_fd, name, parts)
    except (NotFound, Conflict):  # changed under us meanwhile
        digest = None
    return Entry(name, _shown(parts), kind, found.st_size, modified, digest, content_type_of(name))


def list_directory(root: Path, parts: tuple[str, ...], limit: int) -> tuple[list[Entry], int]:
    """The entries of a directory (sorted by name, at most ``limit``) and how many there are in all."""
    with directory(root, parts) as fd:
        names = sorted(name for name in os.listdir(fd) if not name.startswith(TEMP_PREFIX))
        entries = []
        for name in names[:limit]:
            found = lstat_in(fd, name)
            if found is not None:
                entries.append(entry_of(fd, name, (*parts, name), found))
        return entries, len(names)


def describe(root: Path, parts: tuple[str, ...]) -> Entry:
    """The entry ``parts`` names (the root directory for ``()``)."""
    if not parts:
        with directory(root, ()) as fd:
            return Entry("", "/", "directory", None, datetime.fromtimestamp(os.fstat(fd).st_mtime, UTC))
    with directory(root, parts[:-1]) as fd:
        found = lstat_in(fd, parts[-1])
        if found is None:
            raise NotFound(f"No file {_shown(parts)} in the server's files.")
        return entry_of(fd, parts[-1], parts, found)


def usage(root: Path) -> int:
    """Bytes the data directory holds (links not followed; what cannot be read is skipped)."""
    total = 0
    for current, dirs, files in os.walk(root, followlinks=False):
        for name in (*dirs, *files):
            try:
                total += os.lstat(os.path.join(current, name)).st_size
            except OSError:
                continue
    return total


def existing_size(root: Path, parts: tuple[str, ...]) -> int:
    """The size of the regular file an upload would replace (0 when there is none); a directory there is refused."""
    try:
        with directory(root, parts[:-1]) as fd:
            found = lstat_in(fd, parts[-1])
    except NotFound:
        return 0
    if found is None:
        return 0
    if stat.S_ISDIR(found.st_mode):
        raise _refuse(parts, found.st_mode)
    return found.st_size if stat.S_ISREG(found.st_mode) else 0


@dataclass
class PendingUpload:
    """A temporary file beside the target, renamed over it by ``commit``; ``discard`` removes it."""

    dir_fd: int
    temp_name: str
    fd: int
    name: str
    parts: tuple[str, ...]

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def commit(self, digest: str) -> tuple[Entry, bool]:
        """Make the upload the file (atomically); returns its entry and whether it is new."""
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        before = lstat_in(self.dir_fd, self.name)
        if before is not None and stat.S_ISDIR(before.st_mode):
            self.discard()
            raise _refuse(self.parts, before.st_mode)
        # rename() replaces a symlink or FIFO at the target itself; it never writes through it.
        os.rename(self.temp_name, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
        found = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        remember_sum(found, digest)
        os.close(self.dir_fd)
        self.dir_fd = -1
        modified = datetime.fromtimestamp(found.st_mtime, UTC)
        entry = Entry(
            self.name, _shown(self.parts), "file", found.st_size, modified, digest, content_type_of(self.name)
        )
        return entry, before is None

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.dir_fd >= 0:
            with suppress(FileNotFoundError):
                os.unlink(self.temp_name, dir_fd=self.dir_fd)
            os.close(self.dir_fd)
            self.dir_fd = -1


def begin_upload(root: Path, parts: tuple[str, ...], *, overwrite: bool) -> PendingUpload:
    with directory(root, parts[:-1], create=True) as parent:
        found = lstat_in(parent, parts[-1])
        if found is not None and stat.S_ISDIR(found.st_mode):
            raise _refuse(parts, found.st_mode)
        if found is not None and not overwrite:
            raise Conflict(f"{_shown(parts)} exists; pass overwrite=true to replace it.", code="file_exists")
        dir_fd = os.dup(parent)
    temp_name = f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    try:
        fd = os.open(
            temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd
        )
    except BaseException:
        os.close(dir_fd)
        raise
    return PendingUpload(dir_fd, temp_name, fd, parts[-1], parts)


def delete(root: Path, parts: tuple[str, ...], *, recursive: bool) -> str:
    """Remove a file, a link (the link itself) or a directory (with what it holds only when ``recursive``)."""
    with directory(root, parts[:-1]) as parent:
        found = lstat_in(parent, parts[-1])
        if found is None:
            raise NotFound(f"No file {_shown(parts)} in the server's files.")
        kind = _kind(found.st_mode)
        if kind != "directory":
            os.unlink(parts[-1], dir_fd=parent)
            return kind
        if recursive:
            shutil.rmtree(parts[-1], dir_fd=parent)  # fd-based on Linux: safe against symlink races
            return kind
        try:
            os.rmdir(parts[-1], dir_fd=parent)
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:
                raise
            raise Conflict(
                f"{_shown(parts)} is a directory that is not empty; pass recursive=true to delete it with its "
                "contents.",
                code="directory_not_empty",
            ) from None
        return kind
