"""Face-set storage: one interface (``base.FaceSetStore``), several backends.

``get_store()`` picks the backend named by ``FRS_STORE`` (``embedded`` by
default, ``opensearch`` for a cluster) and creates it lazily, once per process.
"""
import os
import threading

_lock = threading.Lock()
_store = None


def get_store():
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = make_store(os.environ.get("FRS_STORE", "embedded"))
    return _store


def make_store(kind: str):
    if kind == "embedded":
        from .embedded import EmbeddedStore
        return EmbeddedStore(os.environ.get("FRS_DATA_DIR", ".frs-data"))
    if kind == "opensearch":
        from .opensearch import OpenSearchStore
        return OpenSearchStore.from_env()
    raise ValueError(f"FRS_STORE must be 'embedded' or 'opensearch', not {kind!r}")


def reset_store():
    """Forget the process-wide store (tests switch data directories)."""
    global _store
    with _lock:
        if _store is not None and hasattr(_store, "close"):
            _store.close()
        _store = None
