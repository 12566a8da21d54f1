"""Guards on where and when a request comes: `IpWhitelist`, `TimeBasedGuard`
(re-exported by `cello.guards`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from cello.guards._core import ForbiddenError, Guard

# --- network and time -----------------------------------------------------------------

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _network(text: str, owner: str) -> _Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"{owner}: {text!r} is not an IP address or CIDR network (10.0.0.0/8)") from None


def _address(text: Any) -> _Address | None:
    try:
        address = ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


class IpWhitelist(Guard):
    """Allows only clients whose address is in `allowed` (addresses or CIDR networks,
    IPv4 or IPv6); 403 otherwise, and when the address is unknown (the in-process
    `TestClient` has none).

    The address is the socket's peer (``request.client.host``). Behind a reverse proxy,
    list the proxy in `trusted_proxies`: from a trusted peer, the client is the
    rightmost ``X-Forwarded-For`` entry that is not itself a trusted proxy. From anyone
    else the header is ignored, as a client could write anything there.

    Example:
        >>> from cello.guards import IpWhitelist
        >>> internal = IpWhitelist(["10.0.0.0/8", "192.168.1.7"], trusted_proxies=["127.0.0.1"])
    """

    def __init__(
        self, allowed: str | Iterable[str], *, trusted_proxies: Iterable[str] = (),
        message: str | None = None,
    ) -> None:
        entries = [allowed] if isinstance(allowed, str) else list(allowed)
        if not entries:
            raise ValueError("IpWhitelist() needs at least one address or network")
        self.networks = tuple(_network(entry, "IpWhitelist") for entry in entries)
        proxies = [trusted_proxies] if isinstance(trusted_proxies, str) else list(trusted_proxies)
        self.trusted_proxies = tuple(_network(entry, "IpWhitelist") for entry in proxies)
        self.message = message

    def client_address(self, request: Any) -> _Address | None:
        """The client's address as this guard sees it, or None when unknown."""
        client = getattr(request, "client", None)
        if client is None:
            return None
        host = getattr(client, "host", None)
        if host is None and isinstance(client, (tuple, list)) and client:
            host = client[0]
        address = _address(host) if host is not None else None
        if address is None or not self._trusted(address):
            return address
        headers = getattr(request, "headers", None)
        getlist = getattr(headers, "getlist", None)
        values = getlist("x-forwarded-for") if getlist else [headers.get("x-forwarded-for")] if headers else []
        hops = [hop for value in values if value for hop in value.split(",")]
        for hop in reversed(hops):
            forwarded = _address(hop)
            if forwarded is None:
                return None  # a garbled chain names nobody we can trust
            if not self._trusted(forwarded):
                return forwarded
            address = forwarded
        return address

    def _trusted(self, address: _Address) -> bool:
        return any(address in network for network in self.trusted_proxies)

    def check(self, request: Any) -> bool:
        address = self.client_address(request)
        if address is None:
            raise ForbiddenError(self.message or "the client's address is unknown")
        if not any(address in network for network in self.networks):
            raise ForbiddenError(self.message or f"client address {address} is not allowed")
        return True

    def __repr__(self) -> str:
        return f"IpWhitelist({[str(n) for n in self.networks]!r})"


IPWhitelist = IpWhitelist

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _seconds(value: int | dt.time, name: str, top: int) -> int:
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise ValueError(f"TimeBasedGuard {name} is an hour (0-{top}) or a datetime.time, got {value!r}")
    return value * 3600


def _weekday(day: int | str) -> int:
    if isinstance(day, str) and day[:3].lower() in _DAYS:
        return _DAYS.index(day[:3].lower())
    if isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
        return day
    raise ValueError(f"TimeBasedGuard weekdays are 0 (Monday) to 6 (Sunday) or names ('mon'), got {day!r}")


def _clock_text(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


class TimeBasedGuard(Guard):
    """Allows requests only from `start` to `end` (hours, or `datetime.time`; the end
    is excluded; ``start=22, end=6`` spans midnight), on `weekdays` (0 = Monday, or
    ``"mon"``...; every day by default), in `timezone` (an IANA name or a tzinfo; UTC by
    default); 403 otherwise. `clock` returns the current time (for tests; a naive value
    is taken as local time in `timezone`).

    Example:
        >>> from cello.guards import TimeBasedGuard
        >>> office_hours = TimeBasedGuard(9, 17, weekdays=range(5), timezone="Europe/Paris")
    """

    def __init__(
        self, start: int | dt.time = 9, end: int | dt.time = 17, *,
        weekdays: Iterable[int | str] | None = None, timezone: str | dt.tzinfo | None = None,
        clock: Callable[[], dt.datetime] | None = None, message: str | None = None,
    ) -> None:
        self.start = _seconds(start, "start", 23)
        self.end = _seconds(end, "end", 24)
        if self.start == self.end:
            raise ValueError("TimeBasedGuard start and end are equal: the window would be empty")
        self.weekdays = None if weekdays is None else frozenset(_weekday(day) for day in weekdays)
        if self.weekdays is not None and not self.weekdays:
            raise ValueError("TimeBasedGuard weekdays is empty: no day would be allowed")
        self.timezone: dt.tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone or dt.UTC
        self.clock = clock
        self.message = message

    def _now(self) -> dt.datetime:
        if self.clock is None:
            return dt.datetime.now(self.timezone)
        now = self.clock()
        return now.replace(tzinfo=self.timezone) if now.tzinfo is None else now.astimezone(self.timezone)

    def check(self, request: Any) -> bool:
        now = self._now()
        moment = now.hour * 3600 + now.minute * 60 + now.second
        if self.start < self.end:
            inside = self.start <= moment < self.end
        else:
            inside = moment >= self.start or moment < self.end
        if inside and (self.weekdays is None or now.weekday() in self.weekdays):
            return True
        raise ForbiddenError(self.message or f"open {self._window()} only")

    def _window(self) -> str:
        text = f"{_clock_text(self.start)}-{_clock_text(self.end)} {self.timezone}"
        if self.weekdays is not None:
            text += " on " + ", ".join(_DAYS[day].capitalize() for day in sorted(self.weekdays))
        return text

    def __repr__(self) -> str:
        return f"TimeBasedGuard({self._window()!r})"
