"""Writing a file the app owns: whole or not at all, with one backup, never through a link.

Every store ticktape writes (the config, theme copies, caches) goes through
:func:`write_atomic`, so the rules live in one place. See docs/config.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

#: Suffix of the one backup kept beside a file (``config.toml`` → ``config.toml.bak``).
BACKUP_SUFFIX = ".bak"


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def write_atomic(path: Path, data: bytes, *, backup: bool = False) -> None:
    """Replace ``path`` with ``data`` so that any reader sees the old file or the new one.

    The bytes go to a temporary file in the same directory (``os.replace`` is atomic
    only within one file system), are fsynced, and then renamed over the target; a
    crash or a full disk leaves the old file untouched. A symlinked target (dotfile
    managers link ``config.toml``) is written where the link points, so the link
    survives. ``backup`` first keeps the previous version as ``<name>.bak`` (itself
    written atomically), and the file's permission bits carry over to the new one.
    """
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    if backup and target.is_file():
        _replace_with(backup_path(target), target.read_bytes(), mode_from=target)
    _replace_with(target, data, mode_from=target)


def _replace_with(target: Path, data: bytes, *, mode_from: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as tmp_file:
            tmp_file.write(data)
            tmp_file.flush()
            os.fsync(tmp_file.fileno())
        if mode_from.exists():
            shutil.copymode(mode_from, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
