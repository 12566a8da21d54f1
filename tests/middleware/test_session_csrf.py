"""Sessions and CSRF over a real socket: request.session saved only when changed, signed
cookie with secure defaults, tampered cookies start afresh, regenerate on login; CSRF
missing / mismatched / cross-origin refused with 403 problem+json, the form field and
the header accepted, safe methods pass and get a token."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from cello import App, CsrfConfig, SessionConfig
from cello.testing import LiveServer, TestClient

SECRET = "k" * 48


def session_app(**options: object) -> App:
    app = App()
    app.enable_session(SessionConfig(secret=SECRET, cookie_secure=False, **options))  # type: ignore[arg-type]

    @app.post("/login")
    def login(request):
        request.session["user_id"] = request.json()["user"]
        return {"ok": True}

    @app.get("/me")
    def me(request):
        return {"user": request.session.get("user_id"), "new": request.session.is_new}

    @app.get("/count")
    def count(request):
        request.session["n"] = request.session.get("n", 0) + 1
        return {"n": request.session["n"]}

    @app.post("/logout")
    def logout(request):
        request.session.destroy()
        return {"bye": True}

    @app.get("/plain")
    def plain(request):
        return {"plain": True}

    return app


def test_session_round_trip(live: Callable[..., LiveServer]) -> None:
    server = live(session_app())
    with httpx.Client(base_url=server.url) as client:
        assert "set-cookie" not in client.get("/plain").headers, "an untouched session sets nothing"
        assert [client.get("/count").json()["n"] for _ in range(3)] == [1, 2, 3]
        cookie = client.cookies["session_id"]
        assert "." in cookie  # id.signature
        login = client.post("/login", json={"user": "alice"})
        assert client.cookies["session_id"] != cookie, "login regenerates the id"
        assert "HttpOnly" in login.headers["set-cookie"] and "SameSite=Lax" in login.headers["set-cookie"]
        assert client.get("/me").json() == {"user": "alice", "new": False}
        client.post("/logout")
        assert client.get("/me").json()["user"] is None


def test_tampered_cookie_starts_afresh(live: Callable[..., LiveServer]) -> None:
    server = live(session_app())
    with httpx.Client(base_url=server.url) as client:
        client.post("/login", json={"user": "alice"})
        session = client.cookies["session_id"]
        ident, signature = session.split(".", 1)
        for forged in (f"{ident}.{signature[::-1]}", f"{ident[::-1]}.{signature}", "garbage", ""):
            response = httpx.get(f"{server.url}/me", headers={"Cookie": f"session_id={forged}"})
            assert response.status_code == 200
            assert response.json() == {"user": None, "new": True}, forged


def test_session_without_the_middleware_says_how() -> None:
    app = App()

    @app.get("/")
    def index(request):
        return request.session["x"]

    with TestClient(app) as client:
        assert client.get("/").status_code == 500


def test_bad_session_config() -> None:
    with pytest.raises(ValueError, match="32"):
        App().enable_session(SessionConfig(secret="short"))
    with pytest.raises(ValueError, match="Secure"):
        App().enable_session(SessionConfig(secret=SECRET, cookie_same_site="None", cookie_secure=False))
    assert SessionConfig(secret=SECRET, secure=False, same_site="Strict").cookie_same_site == "Strict"


def csrf_app() -> App:
    app = App()
    app.enable_csrf(config=CsrfConfig(secret=SECRET, cookie_name="csrf", cookie_secure=False,
                                      allowed_origins=["https://app.example"]))

    @app.get("/form")
    def form(request):
        return {"token": request.csrf_token}

    @app.post("/transfer")
    def transfer(request):
        return {"done": True}

    return app


def test_csrf(live: Callable[..., LiveServer]) -> None:
    server = live(csrf_app())
    with httpx.Client(base_url=server.url) as client:
        token = client.get("/form").json()["token"]
        assert token and client.cookies.get("csrf")
        missing = client.post("/transfer")
        assert missing.status_code == 403
        assert missing.headers["content-type"] == "application/problem+json"
        wrong = client.post("/transfer", headers={"X-CSRF-Token": "forged"})
        assert wrong.status_code == 403
        ok = client.post("/transfer", headers={"X-CSRF-Token": token, "Origin": "https://app.example"})
        assert ok.json() == {"done": True}
        cross = client.post("/transfer", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
        assert cross.status_code == 403 and "origin" in cross.json()["detail"].lower()
        form = client.post("/transfer", data={"_csrf": token}, headers={"Origin": server.url})
        assert form.json() == {"done": True}
