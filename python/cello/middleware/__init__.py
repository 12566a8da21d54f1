"""Cello's built-in middleware, which runs in Rust (crates/cello-middleware).

Enable each with its ``App.enable_*`` method; the order of the chain is fixed
(docs/middleware.md). An app that enables none has no chain at all.
"""

from __future__ import annotations

from cello.middleware.auth import (
    ApiKeyAuth,
    BasicAuth,
    CsrfConfig,
    JwtAuth,
    JwtConfig,
    SessionConfig,
)
from cello.middleware.caching import cache
from cello.middleware.rate_limit import AdaptiveRateLimitConfig, RateLimitConfig
from cello.middleware.security import CSP, SecurityHeadersConfig
from cello.middleware.static import StaticFilesConfig
from cello.middleware.stores import MemoryStore, RedisStore

__all__ = [
    "CSP",
    "AdaptiveRateLimitConfig",
    "ApiKeyAuth",
    "BasicAuth",
    "CsrfConfig",
    "JwtAuth",
    "JwtConfig",
    "MemoryStore",
    "RateLimitConfig",
    "RedisStore",
    "SecurityHeadersConfig",
    "SessionConfig",
    "StaticFilesConfig",
    "cache",
]
