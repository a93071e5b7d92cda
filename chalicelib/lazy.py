"""One lazy, thread-safe, process-wide value: the store, the credential
store, the rate counter, the S3 client, the face engine, the liveness
models and the settings are each made on first use (so a request that never
needs one never pays for it) and can be forgotten (tests switch data
directories and environments between cases)."""
from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")

_all: list["Lazy[object]"] = []


class Lazy(Generic[T]):
    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()
        _all.append(self)  # type: ignore[arg-type]

    def get(self, factory: Callable[[], T] | None = None) -> T:
        """The value, made on first use (by ``factory`` if given, else by the
        one this Lazy was created with)."""
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = (factory or self._factory)()
                value = self._value
        return value

    def peek(self) -> T | None:
        """The value if it was made, without making it."""
        return self._value

    def reset(self) -> None:
        with self._lock:
            self._value = None


def reset_all() -> None:
    """Forget every lazy value of the process (tests only)."""
    for item in _all:
        item.reset()
