"""An HTTP/3 client on pycurl, for tests: the libcurl in PyPI's pycurl wheel is built
with ngtcp2 and nghttp3. It answers the few calls the transport tests make of an
`httpx.Client` (get, post, head; status_code, headers, content, text, json())."""

from __future__ import annotations

import io
import json as jsonlib
from dataclasses import dataclass, field
from typing import Any, Self

import pycurl


def has_http3() -> bool:
    """Whether this pycurl's libcurl speaks HTTP/3."""
    return bool(pycurl.version_info()[4] & pycurl.VERSION_HTTP3)


@dataclass
class CurlResponse:
    status_code: int
    http_version: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class CurlH3Client:
    """Requests over HTTP/3 only (`CURL_HTTP_VERSION_3ONLY`: no fallback to TCP), on one
    curl handle, so they share a QUIC connection."""

    def __init__(self, base_url: str, ca_pem: str, timeout: float = 10.0) -> None:
        self.base_url = base_url
        self._curl = pycurl.Curl()
        self._ca_pem = ca_pem
        self._timeout = timeout

    def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> CurlResponse:
        curl = self._curl
        curl.reset()
        body, header_lines = io.BytesIO(), io.BytesIO()
        curl.setopt(pycurl.URL, self.base_url + path)
        curl.setopt(pycurl.CAINFO, self._ca_pem)
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_3ONLY)
        curl.setopt(pycurl.TIMEOUT_MS, int(self._timeout * 1000))
        curl.setopt(pycurl.WRITEDATA, body)
        curl.setopt(pycurl.HEADERFUNCTION, header_lines.write)
        fields = dict(headers or {})
        if method == "HEAD":
            curl.setopt(pycurl.NOBODY, True)
        elif method != "GET":
            curl.setopt(pycurl.CUSTOMREQUEST, method)
        if json is not None:
            curl.setopt(pycurl.POSTFIELDS, jsonlib.dumps(json))
            fields.setdefault("content-type", "application/json")
        curl.setopt(pycurl.HTTPHEADER, [f"{name}: {value}" for name, value in fields.items()])
        curl.perform()
        version = {pycurl.CURL_HTTP_VERSION_3: "HTTP/3"}.get(
            curl.getinfo(pycurl.INFO_HTTP_VERSION), "not HTTP/3"
        )
        response = CurlResponse(
            curl.getinfo(pycurl.RESPONSE_CODE), version, content=body.getvalue()
        )
        for line in header_lines.getvalue().decode("latin-1").splitlines()[1:]:
            name, _, value = line.partition(":")
            if name:
                response.headers[name.strip().lower()] = value.strip()
        return response

    def get(self, path: str, **kwargs: Any) -> CurlResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> CurlResponse:
        return self.request("POST", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> CurlResponse:
        return self.request("HEAD", path, **kwargs)

    def close(self) -> None:
        self._curl.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
