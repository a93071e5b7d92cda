"""Private files for the embedded data directory (``FRS_DATA_DIR``).

Face templates are biometric data and ``identity.db`` holds secret keys:
the directory is created 0700 and every file in it 0600, whatever the
process umask. SQLite creates a database's ``-wal``, ``-shm`` and
``-journal`` files with the mode of the database file itself, so creating
that file 0600 before SQLite opens it covers them too; files an older
version left readable are tightened when they are opened.
"""
from __future__ import annotations

import os

DIR_MODE = 0o700
FILE_MODE = 0o600
_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: str) -> str:
    """Create ``path`` (and missing parents) with mode 0700. A directory that
    already exists keeps its mode: it may be one the operator chose (such as
    a shared parent); the files in it are private all the same."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=DIR_MODE, exist_ok=True)
        os.chmod(path, DIR_MODE)  # makedirs' mode is masked by the umask
    return path


def private_file(path: str) -> str:
    """Create ``path`` empty with mode 0600 if absent (never truncating it),
    and set 0600 on it and its SQLite side files if present."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # the umask cannot widen or narrow it
    finally:
        os.close(fd)
    for suffix in _SIDE_FILES:
        try:
            os.chmod(path + suffix, FILE_MODE)
        except FileNotFoundError:
            pass
    return path
