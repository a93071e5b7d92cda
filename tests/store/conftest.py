"""Fixtures for the store contract suite: one suite, every backend.

``backend`` yields an opener for each backend kind; the ``opensearch`` kind
needs a cluster and is skipped unless ``OPENSEARCH_URL`` is set. Each test gets
fresh project ids (uuids) so no backend needs wiping, and every project a test
touched is removed with ``delete_project`` afterwards.
"""
import os
import uuid

import pytest

from chalicelib.store import make_store

BACKENDS = ["embedded", "opensearch"]


class Backend:
    def __init__(self, kind, opener):
        self.kind = kind
        self._opener = opener
        self.opened = []

    def open(self):
        """A new store instance over the same storage (a "restart")."""
        store = self._opener()
        self.opened.append(store)
        return store


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, monkeypatch):
    kind = request.param
    if kind == "embedded":
        monkeypatch.setenv("FRS_DATA_DIR", str(tmp_path / "frs-data"))
    elif not os.environ.get("OPENSEARCH_URL"):
        pytest.skip("OPENSEARCH_URL not set: the opensearch backend needs a running cluster")
    b = Backend(kind, lambda: make_store(kind))
    yield b
    for store in b.opened:
        store.close()


@pytest.fixture
def projects(backend):
    """``projects()`` answers a fresh project id; all are deleted at teardown."""
    made = []

    def new():
        made.append("test-" + uuid.uuid4().hex)
        return made[-1]

    yield new
    cleaner = backend.open()
    for p in made:
        cleaner.delete_project(p)


@pytest.fixture
def store(backend, projects):
    return backend.open()


@pytest.fixture
def project(projects):
    return projects()
