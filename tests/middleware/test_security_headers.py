"""Security headers on every response over a real socket; HSTS only over TLS; the
original's config class, CSP builder and the spellings its docs use."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trustme
from cello import CSP, App, Response, SecurityHeadersConfig, TlsConfig
from cello.testing import LiveServer, TestClient


def headers_app(*args: object, **options: object) -> App:
    app = App()
    app.enable_security_headers(*args, **options)  # type: ignore[arg-type]

    @app.get("/")
    def index(request):
        return {"ok": True}

    @app.get("/framed")
    def framed(request):
        return Response.text("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    @app.get("/boom")
    def boom(request):
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize("path", ["/", "/missing", "/boom"])
def test_defaults_on_every_status(live: Callable[..., LiveServer], path: str) -> None:
    server = live(headers_app())
    response = httpx.get(server.url + path)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-xss-protection"] == "1; mode=block"
    assert "strict-transport-security" not in response.headers


def test_a_header_set_by_the_handler_wins() -> None:
    with TestClient(headers_app()) as client:
        assert client.get("/framed").headers["x-frame-options"] == "SAMEORIGIN"


def test_hsts_only_over_tls(live: Callable[..., LiveServer], tmp_path: Path) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_pem.write_to_path(str(key))
    issued.cert_chain_pems[0].write_to_path(str(cert))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    secure = live(headers_app(strict=True), tls=TlsConfig(str(cert), str(key)))
    response = httpx.get(secure.url + "/", verify=context)
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    plain = live(headers_app(strict=True))
    assert "strict-transport-security" not in httpx.get(plain.url + "/").headers


def test_config_class_csp_and_doc_spellings() -> None:
    config = SecurityHeadersConfig(
        csp=CSP(default_src=["'self'"], img_src=["self", "data:"]),
        frame_options="SAMEORIGIN",
        x_content_type_options="nosniff",
        xss_protection=None,
        permissions_policy="geolocation=()",
        hsts=True,
    )
    assert config.hsts_max_age == 31536000
    app = App()
    app.use(config)

    @app.get("/")
    def index(request):
        return {}

    with TestClient(app) as client:
        headers = client.get("/").headers
    assert headers["content-security-policy"] == "default-src 'self'; img-src 'self' data:"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["permissions-policy"] == "geolocation=()"
    assert "x-xss-protection" not in headers
    assert CSP().default_src(["self"]).script_src(["https://cdn.example"]).build() == (
        "default-src 'self'; script-src https://cdn.example"
    )


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="content-security-policy"):
        App().enable_security_headers(SecurityHeadersConfig(csp="default-src 'self'\nX: 1"))
    with pytest.raises(ValueError, match="preload"):
        App().enable_security_headers(SecurityHeadersConfig(hsts_max_age=60, hsts_preload=True))
    with pytest.raises(TypeError, match="no directive"):
        CSP(scripts=["'self'"])
    with pytest.raises(TypeError, match="app.use"):
        App().use(object())
