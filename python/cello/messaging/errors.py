"""Messaging exceptions; ``cello._cello`` raises them (the mapping is one function in
``cello-py/src/messaging/errors.rs``).

Example:
    >>> from cello.messaging import BrokerConnectionError, MessagingError
    >>> issubclass(BrokerConnectionError, MessagingError)
    True
"""

from __future__ import annotations

from cello.exceptions import CelloError

__all__ = ["BrokerConnectionError", "BrokerError", "MessageSettledError", "MessagingError"]


class MessagingError(CelloError, RuntimeError):
    """Base class of the messaging errors."""


class BrokerConnectionError(MessagingError, ConnectionError):
    """The broker cannot be reached (at start-up, or for longer than the publish
    timeout), or the connection was closed."""


class BrokerError(MessagingError):
    """The broker refused an operation: a publish no queue would receive, a missing
    exchange or queue, a declaration that contradicts the existing queue."""


class MessageSettledError(MessagingError):
    """A message was acked, nacked or rejected a second time."""
