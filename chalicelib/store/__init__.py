"""Face-set storage: one interface (``base.FaceSetStore``), several backends.

``get_store()`` picks the backend named by ``FRS_STORE`` (``embedded`` by
default, ``opensearch`` for a cluster) and creates it lazily, once per process.
"""
from __future__ import annotations

from chalicelib.config import settings
from chalicelib.lazy import Lazy
from chalicelib.store.base import FaceSetStore


def make_store(kind: str) -> FaceSetStore:
    if kind == "embedded":
        from chalicelib.store.embedded import EmbeddedStore
        return EmbeddedStore(settings().data_dir)
    if kind == "opensearch":
        from chalicelib.store.opensearch import OpenSearchStore
        return OpenSearchStore.from_env()
    raise ValueError(f"FRS_STORE must be 'embedded' or 'opensearch', not {kind!r}")


_store: Lazy[FaceSetStore] = Lazy(lambda: make_store(settings().store))


def get_store() -> FaceSetStore:
    return _store.get()


def reset_store() -> None:
    """Forget the process-wide store (tests switch data directories)."""
    current = _store.peek()
    if current is not None and hasattr(current, "close"):
        current.close()
    _store.reset()
