"""Making JWTs for the tests with the standard library (HMAC) and `cryptography` (RSA),
so the tokens do not come from the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    # Hours from the edges: no machine is slow enough to matter.
    return {"sub": "alice", "roles": ["admin"], "iat": now, "exp": now + 3 * 3600, **extra}


def signing_input(header: dict[str, Any], payload: dict[str, Any]) -> bytes:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}".encode()


def hs256(payload: dict[str, Any], secret: bytes, alg: str = "HS256") -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    head = signing_input({"alg": alg, "typ": "JWT"}, payload)
    return f"{head.decode()}.{b64(hmac.new(secret, head, digest).digest())}"


def unsigned(payload: dict[str, Any]) -> str:
    return f"{signing_input({'alg': 'none', 'typ': 'JWT'}, payload).decode()}."


class RsaKey:
    def __init__(self) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def rs256(self, payload: dict[str, Any]) -> str:
        head = signing_input({"alg": "RS256", "typ": "JWT"}, payload)
        signature = self.private.sign(head, padding.PKCS1v15(), hashes.SHA256())
        return f"{head.decode()}.{b64(signature)}"
