"""Issue 15, defect 9: the embedded data directory is 0700 and every file in
it 0600 (face templates are biometric data; identity.db holds secret keys),
whatever the process umask."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from chalicelib.identity.credentials import SqliteCredentialStore
from chalicelib.identity.ratelimit import SqliteCounter
from chalicelib.store.base import FaceRecord, FaceSetInfo
from chalicelib.store.embedded import EmbeddedStore


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o000)  # the worst case: nothing masked
    yield
    os.umask(old)


def _use_everything(d, create=True):
    store = EmbeddedStore(str(d))
    if not create:
        return store
    store.create_face_set(FaceSetInfo(project_id="p", face_set_name="s", face_set_id="abcdefgh",
                                      create_date="2024-01-01 00:00:00", face_set_capacity=10_000,
                                      external_fields={}, face_number=0), 10)
    v = np.ones(4, np.float32) / 2
    store.add_faces("p", "s", [FaceRecord("AbCdEfGh", "img", {"top_left_x": 0, "top_left_y": 0,
                                                              "width": 1, "height": 1}, {}, v)])
    return store


@pytest.mark.parametrize("first", ["faces", "counter", "credentials"])
def test_directory_0700_and_files_0600(tmp_path, loose_umask, first):
    d = tmp_path / "frs-data"
    order = {"faces": 0, "counter": 1, "credentials": 2}
    makers = [lambda: _use_everything(d), lambda: SqliteCounter(str(d)).incr("k", 60),
              lambda: SqliteCredentialStore(str(d)).signing_key()]
    makers.insert(0, makers.pop(order[first]))
    results = [m() for m in makers]
    SqliteCounter(str(d)).incr("k", 60)
    assert mode(d) == 0o700
    names = sorted(os.listdir(d))
    assert {"frs.sqlite3", "frs.sqlite3-wal", "frs.sqlite3-shm", "identity.db"} <= set(names), names
    for name in names:
        assert mode(d / name) == 0o600, (name, oct(mode(d / name)))
    for r in results:
        if isinstance(r, EmbeddedStore):
            r.close()


def test_existing_loose_files_are_tightened(tmp_path, loose_umask):
    d = tmp_path / "old"
    _use_everything(d).close()
    for name in os.listdir(d):
        os.chmod(d / name, 0o644)   # as an older version left them
    _use_everything(d, create=False).close()
    SqliteCounter(str(d)).incr("k", 60)
    SqliteCredentialStore(str(d))
    for name in os.listdir(d):
        assert mode(d / name) == 0o600, name
