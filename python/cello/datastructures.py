"""Small value types shared by requests and responses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from cello._cello import Headers, QueryParams

__all__ = ["Address", "Headers", "MutableHeaders", "QueryParams", "State"]


class Address(NamedTuple):
    """A peer's address: ``request.client.host`` and ``request.client.port``."""

    host: str
    port: int


class State:
    """Attribute storage (``app.state.db = ...``).

    Reading an attribute that was never set raises an ``AttributeError`` that names it.
    """

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"state has no attribute {name!r}; set it first (for example in a startup hook)"
        )

    def __repr__(self) -> str:
        return f"State({self.__dict__!r})"


class MutableHeaders:
    """Response headers: case-insensitive, several values per name, in order.

    A view over the response's ``raw_headers`` list of ``(name, value)`` pairs.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __getitem__(self, name: str) -> str:
        key = name.lower()
        for header, value in self._pairs:
            if header == key:
                return value
        raise KeyError(name)

    def __setitem__(self, name: str, value: str) -> None:
        key = name.lower()
        self._pairs[:] = [(h, v) for h, v in self._pairs if h != key]
        self._pairs.append((key, str(value)))

    def __delitem__(self, name: str) -> None:
        key = name.lower()
        if not any(h == key for h, _ in self._pairs):
            raise KeyError(name)
        self._pairs[:] = [(h, v) for h, v in self._pairs if h != key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(h == name.lower() for h, _ in self._pairs)

    def __iter__(self) -> Iterator[str]:
        seen: list[str] = []
        for header, _ in self._pairs:
            if header not in seen:
                seen.append(header)
        return iter(seen)

    def __len__(self) -> int:
        return len({h for h, _ in self._pairs})

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`, or `default`."""
        try:
            return self[name]
        except KeyError:
            return default

    def getlist(self, name: str) -> list[str]:
        """Every value of `name`, in order."""
        key = name.lower()
        return [v for h, v in self._pairs if h == key]

    def append(self, name: str, value: str) -> None:
        """Adds a value without removing earlier ones (e.g. several ``Set-Cookie``)."""
        self._pairs.append((name.lower(), str(value)))

    def items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair."""
        return list(self._pairs)

    def update(self, values: dict[str, str]) -> None:
        """Sets each header, replacing earlier values."""
        for name, value in values.items():
            self[name] = value

    def __repr__(self) -> str:
        return f"MutableHeaders({self._pairs!r})"
