"""Deterministic JSON documents of a chosen size, for request bodies and the JSON micro-bench."""

from __future__ import annotations

import json

__all__ = ["document", "document_bytes"]


def _record(index: int) -> dict[str, object]:
    return {
        "id": index,
        "name": f"user-{index}",
        "email": f"user{index}@example.com",
        "active": index % 3 != 0,
        "score": index * 0.25,  # exact in binary, so every encoder round-trips it
        "tags": ["alpha", "beta", "gamma"][: index % 3 + 1],
        "address": {"city": "Zürich" if index % 2 else "Lyon", "zip": f"{10000 + index}"},
        "manager": None,
    }


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def document(size: int) -> dict[str, object]:
    """A JSON object whose compact UTF-8 encoding is exactly ``size`` bytes (size >= 64)."""
    if size < 64:
        raise ValueError("documents start at 64 bytes")
    items: list[dict[str, object]] = []
    doc: dict[str, object] = {"count": 0, "items": items, "padding": ""}
    while True:
        candidate = _record(len(items))
        items.append(candidate)
        doc["count"] = len(items)
        if len(_compact(doc)) > size:
            items.pop()
            doc["count"] = len(items)
            break
    doc["padding"] = "x" * (size - len(_compact(doc)))
    # "count" may gain a digit only when a record is added, never here, so the size holds.
    assert len(_compact(doc)) == size, (len(_compact(doc)), size)
    return doc


def document_bytes(size: int) -> bytes:
    return _compact(document(size))
