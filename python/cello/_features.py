"""What the native module was built with, and the error for using what it was not.

Each optional subsystem is a cargo feature of ``cello-py`` (``http3``, ``redis``, the
database drivers ``sqlite``, ``postgres`` and ``mysql``; the protocol and observability
crates add theirs as they land). ``CELLO_FEATURES`` picks them
when building from source (``build_backend/cello_build.py``, docs/install.md).
"""

from __future__ import annotations

from cello import _cello
from cello.exceptions import MissingFeatureError

__all__ = ["OPTIONAL_FEATURES", "features", "require_feature"]

# The optional cargo features, in the order docs/install.md lists them. Always-on parts
# of the engine (http1, http2, tls, websocket) are reported by `features()` too.
OPTIONAL_FEATURES: tuple[str, ...] = ("http3", "redis", "otel", "sqlite", "postgres", "mysql", "graphql", "grpc", "rabbitmq", "sqs", "kafka")


def features() -> list[str]:
    """The subsystems this build of the native module includes.

    Example:
        >>> import cello
        >>> "http1" in cello.features()
        True
    """
    return list(_cello.features())


def require_feature(feature: str, what: str) -> None:
    """Raises `MissingFeatureError` unless the native module was built with `feature`.

    Args:
        feature: the cargo feature, as ``cello.features()`` names it.
        what: the thing the user asked for, for the message (``"app.run(http3=True)"``).
    """
    built = set(_cello.features())
    if feature in built:
        return
    optional = [name for name in OPTIONAL_FEATURES if name in built]
    wanted = ",".join([*optional, feature])
    raise MissingFeatureError(
        f"{what} needs the `{feature}` feature, and this build of Cello was made without it "
        f"(its optional features: {', '.join(optional) or 'none'}). Rebuild with it: "
        f"`CELLO_FEATURES={wanted} pip install --force-reinstall .` in a checkout, or "
        f"`CELLO_FEATURES={wanted} pip install --force-reinstall --no-binary cello cello`; "
        "CELLO_FEATURES=full builds every feature (docs/install.md)."
    )
