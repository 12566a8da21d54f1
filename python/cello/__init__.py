"""Cello: a Python web framework whose hot path is Rust.

Example:
    >>> from cello import App
    >>> app = App()
    >>> @app.get("/")
    ... def hello(request):
    ...     return {"message": "Hello, World!"}
"""

from __future__ import annotations

from cello import _cello
from cello._cello import Request
from cello._features import features
from cello.app import App
from cello.background import BackgroundTask, BackgroundTasks
from cello.blueprint import Blueprint
from cello.config import ServerConfig, TlsConfig
from cello.cqrs import CqrsConfig
from cello.data import (
    CheckViolation,
    Database,
    DatabaseConfig,
    DatabaseError,
    DataError,
    ForeignKeyViolation,
    IntegrityError,
    NotNullViolation,
    OperationalError,
    PoolTimeout,
    ProgrammingError,
    RedisConfig,
    Row,
    Transaction,
    TransactionAborted,
    UniqueViolation,
    transactional,
)
from cello.datastructures import Headers, QueryParams, State
from cello.eventsourcing.config import EventSourcingConfig
from cello.exceptions import (
    BodyNotRead,
    CelloError,
    HTTPException,
    InvalidJSON,
    MissingFeatureError,
    RequestValidationError,
    RouteConflictError,
    TlsError,
)
from cello.forms import FormData, UploadFile
from cello.graphql.config import GraphQLConfig
from cello.grpc.config import GrpcConfig
from cello.guards import (
    And,
    Authenticated,
    AuthenticatedGuard,
    ForbiddenError,
    Guard,
    GuardError,
    IPWhitelist,
    IpWhitelist,
    Not,
    Or,
    PermissionGuard,
    RoleGuard,
    TimeBasedGuard,
    UnauthorizedError,
)
from cello.messaging import KafkaConfig, RabbitMQConfig, SqsConfig
from cello.middleware import (
    CSP,
    CsrfConfig,
    JwtConfig,
    MemoryStore,
    RateLimitConfig,
    RedisStore,
    SecurityHeadersConfig,
    SessionConfig,
    StaticFilesConfig,
    cache,
)
from cello.observability import HealthCheckConfig, LoggingConfig, OpenTelemetryConfig
from cello.params import Body, Cookie, Depends, File, Form, Header, Path, Query
from cello.responses import FileResponse, Response
from cello.saga import SagaConfig
from cello.streaming import ServerSentEvent, SseStream, StreamingResponse
from cello.templating import (
    MiniJinjaEngine,
    TemplateEngine,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)
from cello.websocket import Message, SyncWebSocket, WebSocket, WebSocketDisconnect

__version__: str = _cello.__version__

_cello.set_response_type(Response)


def json_dumps(value: object) -> bytes:
    """Encodes `value` to JSON bytes with the encoder responses use."""
    return _cello.json_dumps(value)


def json_loads(data: bytes | str) -> object:
    """Parses JSON with the decoder ``request.json()`` uses."""
    return _cello.json_loads(data)


__all__ = [
    "CSP",
    "And",
    "App",
    "Authenticated",
    "AuthenticatedGuard",
    "BackgroundTask",
    "BackgroundTasks",
    "Blueprint",
    "Body",
    "BodyNotRead",
    "CelloError",
    "CheckViolation",
    "Cookie",
    "CqrsConfig",
    "CsrfConfig",
    "DataError",
    "Database",
    "DatabaseConfig",
    "DatabaseError",
    "Depends",
    "EventSourcingConfig",
    "File",
    "FileResponse",
    "ForbiddenError",
    "ForeignKeyViolation",
    "Form",
    "FormData",
    "GraphQLConfig",
    "GrpcConfig",
    "Guard",
    "GuardError",
    "HTTPException",
    "Header",
    "Headers",
    "HealthCheckConfig",
    "IPWhitelist",
    "IntegrityError",
    "InvalidJSON",
    "IpWhitelist",
    "JwtConfig",
    "KafkaConfig",
    "LoggingConfig",
    "MemoryStore",
    "Message",
    "MiniJinjaEngine",
    "MissingFeatureError",
    "Not",
    "NotNullViolation",
    "OpenTelemetryConfig",
    "OperationalError",
    "Or",
    "Path",
    "PermissionGuard",
    "PoolTimeout",
    "ProgrammingError",
    "Query",
    "QueryParams",
    "RabbitMQConfig",
    "RateLimitConfig",
    "RedisConfig",
    "RedisStore",
    "Request",
    "RequestValidationError",
    "Response",
    "RoleGuard",
    "RouteConflictError",
    "Row",
    "SagaConfig",
    "SecurityHeadersConfig",
    "ServerConfig",
    "ServerSentEvent",
    "SessionConfig",
    "SqsConfig",
    "SseStream",
    "State",
    "StaticFilesConfig",
    "StreamingResponse",
    "SyncWebSocket",
    "TemplateEngine",
    "TemplateError",
    "TemplateNotFound",
    "TemplateSyntaxError",
    "TimeBasedGuard",
    "TlsConfig",
    "TlsError",
    "Transaction",
    "TransactionAborted",
    "UnauthorizedError",
    "UniqueViolation",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "__version__",
    "cache",
    "features",
    "json_dumps",
    "json_loads",
    "transactional",
]
