"""A cache of one entry: what was built from the newest set of identifiers passed.

The cohort's identifiers change only with a new extract, and the checks are handed the same
frozenset object each time; so the index built from it is kept until a different object comes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Built = TypeVar("Built")


class BuiltForLatest(Generic[Built]):
    def __init__(self, build: Callable[[frozenset[str]], Built]):
        self._build = build
        self._lock = threading.Lock()
        self._entry: tuple[frozenset[str], Built] | None = None

    def __call__(self, identifiers: frozenset[str]) -> Built:
        with self._lock:
            if self._entry is not None and self._entry[0] is identifiers:
                return self._entry[1]
        built = self._build(identifiers)  # outside the lock: a build takes a while, a second one is harmless
        with self._lock:
            self._entry = (identifiers, built)
        return built

    def clear(self) -> None:
        """Forget what was built (benchmarks time a cold start)."""
        with self._lock:
            self._entry = None
