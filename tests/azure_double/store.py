"""Thread-safe store of resources keyed by their ARM id (case-insensitive, as ARM ids are)."""

from __future__ import annotations

import copy
import threading
from typing import Any


class ResourceStore:
    """Holds each resource's full stored state, secrets included; providers decide what an answer shows."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, dict[str, Any]] = {}

    @staticmethod
    def key(resource_id: str) -> str:
        return resource_id.rstrip("/").lower()

    def get(self, resource_id: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._items.get(self.key(resource_id))
            return copy.deepcopy(item) if item is not None else None

    def exists(self, resource_id: str) -> bool:
        with self._lock:
            return self.key(resource_id) in self._items

    def put(self, resource_id: str, state: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._items[self.key(resource_id)] = copy.deepcopy(state)
            return copy.deepcopy(state)

    def update(self, resource_id: str, mutate) -> dict[str, Any] | None:
        """Apply `mutate(state)` in place under the lock; returns the new state (None if absent)."""
        with self._lock:
            item = self._items.get(self.key(resource_id))
            if item is None:
                return None
            mutate(item)
            return copy.deepcopy(item)

    def delete(self, resource_id: str) -> bool:
        """Delete a resource and everything under it (child resources live under their parent's id)."""
        prefix = self.key(resource_id)
        with self._lock:
            doomed = [k for k in self._items if k == prefix or k.startswith(prefix + "/")]
            for key in doomed:
                del self._items[key]
            return bool(doomed)

    def children(self, parent_id: str, type_segment: str) -> list[dict[str, Any]]:
        """Direct children `<parent_id>/<type_segment>/<name>`, in creation order."""
        prefix = self.key(parent_id) + "/" + type_segment.lower() + "/"
        with self._lock:
            return [
                copy.deepcopy(v)
                for k, v in self._items.items()
                if k.startswith(prefix) and "/" not in k[len(prefix) :]
            ]

    def matching(self, predicate) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(v) for k, v in self._items.items() if predicate(k, v)]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
