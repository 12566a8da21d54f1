"""JWT, Basic and API-key authentication over the engine: good tokens reach the handler
with request.user / request.context["user"] (and the guards that read it); `none`,
algorithm confusion, tampering, expiry, wrong issuer/audience are 401 problem+json with
WWW-Authenticate; skip paths; CORS on a 401; bad configuration refused."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from cello import App, JwtConfig
from cello.middleware import ApiKeyAuth, BasicAuth, JwtAuth
from cello.testing import LiveServer, TestClient
from jwt_tokens import RsaKey, claims, hs256, unsigned

SECRET = b"s" * 40


def protected(configure: Callable[[App], None]) -> App:
    app = App()
    app.enable_cors(origins=["https://app.example"])
    configure(app)

    @app.get("/me")
    def me(request):
        return {"user": request.user, "context_user": request.context.get("user")}

    @app.get("/admin", guards=[lambda request: "admin" in request.context["user"].get("roles", [])])
    def admin(request):
        return {"admin": True}

    @app.get("/health")
    def health(request):
        return {"status": "UP", "user": request.user}

    return app


def jwt_app(**options: object) -> App:
    return protected(lambda app: app.enable_jwt(JwtConfig(secret=SECRET, **options), skip_paths=["/health"]))  # type: ignore[arg-type]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token_reaches_the_handler_and_guards(live: Callable[..., LiveServer]) -> None:
    server = live(jwt_app())
    token = hs256(claims(), SECRET)
    response = httpx.get(f"{server.url}/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["sub"] == "alice" and body["context_user"] == body["user"]
    assert httpx.get(f"{server.url}/admin", headers=bearer(token)).json() == {"admin": True}
    viewer = hs256(claims(roles=["viewer"]), SECRET)
    assert httpx.get(f"{server.url}/admin", headers=bearer(viewer)).status_code == 403


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (unsigned(claims()), "none"),
        (hs256(claims(), b"another secret of at least 32 bytes long"), "signature"),
        (hs256(claims(exp=1_000_000), SECRET), "expired"),
        (hs256({"sub": "alice"}, SECRET), "exp"),
        (hs256(claims(nbf=4_000_000_000), SECRET), "nbf"),
        (hs256(claims(), SECRET, alg="HS512"), "algorithm"),
        (hs256(claims(), SECRET)[:-4] + "AAAA", "signature"),
        ("not.a.token", "malformed"),
        ("x" * 10000, "long"),
    ],
)
def test_bad_tokens_are_401(live: Callable[..., LiveServer], token: str, reason: str) -> None:
    server = live(jwt_app())
    response = httpx.get(f"{server.url}/me", headers={**bearer(token), "Origin": "https://app.example"})
    assert response.status_code == 401, reason
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert token[:40] not in response.text or len(token) < 12


def test_missing_token_skip_paths_and_options(live: Callable[..., LiveServer]) -> None:
    server = live(jwt_app())
    missing = httpx.get(f"{server.url}/me")
    assert missing.status_code == 401
    assert "error=" not in missing.headers["www-authenticate"]
    assert httpx.get(f"{server.url}/health").json() == {"status": "UP", "user": None}
    assert httpx.options(f"{server.url}/me").status_code != 401


def test_issuer_and_audience() -> None:
    app = jwt_app(issuer="https://issuer.example", audience="cello-api")
    good = hs256(claims(iss="https://issuer.example", aud="cello-api"), SECRET)
    with TestClient(app) as client:
        assert client.get("/me", headers=bearer(good)).status_code == 200
        for wrong in (claims(iss="https://evil.example", aud="cello-api"), claims(iss="https://issuer.example", aud="x"), claims()):
            assert client.get("/me", headers=bearer(hs256(wrong, SECRET))).status_code == 401


def test_token_from_a_cookie() -> None:
    app = jwt_app(cookie_name="access_token")
    with TestClient(app) as client:
        response = client.get("/me", headers={"Cookie": f"access_token={hs256(claims(), SECRET)}"})
        assert response.status_code == 200


def test_rs256_and_algorithm_confusion(tmp_path) -> None:
    key = RsaKey()
    pem = tmp_path / "public.pem"
    pem.write_bytes(key.public_pem)
    app = protected(lambda app: app.use(JwtAuth(JwtConfig(algorithm="RS256", public_key=str(pem)))))
    with TestClient(app) as client:
        assert client.get("/me", headers=bearer(key.rs256(claims()))).status_code == 200
        # HS256 signed with the public key as the HMAC secret: the classic confusion.
        forged = hs256(claims(), key.public_pem)
        assert client.get("/me", headers=bearer(forged)).status_code == 401


def test_basic_auth() -> None:
    app = protected(lambda app: app.enable_basic_auth({"admin": "hunter2"}, realm="Ops"))
    def basic(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    with TestClient(app) as client:
        ok = client.get("/me", headers=basic("admin", "hunter2"))
        assert ok.json()["user"] == {"sub": "admin", "auth": "basic"}
        for headers in (basic("admin", "wrong"), basic("nobody", "hunter2"), {"Authorization": "Basic %%%"}, {}):
            refused = client.get("/me", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith('Basic realm="Ops"')


def test_api_key() -> None:
    app = protected(lambda app: app.use(ApiKeyAuth({"k-123": "billing", "k-456": {"sub": "ops", "roles": ["admin"]}})))
    with TestClient(app) as client:
        assert client.get("/me", headers={"X-API-Key": "k-123"}).json()["user"]["sub"] == "billing"
        assert client.get("/admin", headers={"X-API-Key": "k-456"}).status_code == 200
        assert client.get("/me", headers={"X-API-Key": "k-999"}).status_code == 401
        assert client.get("/me").status_code == 401


def test_bad_configuration() -> None:
    with pytest.raises(ValueError, match="32"):
        App().enable_jwt(JwtConfig(secret="short"))
    with pytest.raises(ValueError, match="algorithm"):
        App().enable_jwt(JwtConfig(secret=SECRET, algorithm="HS999"))
    with pytest.raises(ValueError):
        App().enable_jwt(JwtConfig(algorithm="RS256", public_key="/nonexistent.pem"))
    with pytest.raises(ValueError, match="enabled"):
        app = App()
        app.enable_basic_auth({"a": "b"})
        app.use(BasicAuth({"c": "d"}))
    config = JwtConfig(secret=SECRET, expiration=3600)  # the docs' spelling is accepted
    assert config.expiration == 3600
