"""The JSON hello through a middleware stack: CORS, security headers, a rate limit that
never refuses, JWT verification (HS256), and on Cello a request id (the original has no
request-id middleware). The stack is on only when the harness runs with
``CELLO_BENCH_MIDDLEWARE=1`` (benches/apps/cello_app.py reads it); without it this is the
JSON hello with two extra request headers.

    CELLO_BENCH_MIDDLEWARE=1 python3 benches/run.py --frameworks cello,cello-original \\
        --scenarios middleware_stack
"""

import base64
import hashlib
import hmac
import json

from harness.scenario import Scenario, expect_json

#: Shared with benches/apps/cello_app.py.
SECRET = b"bench-secret-of-at-least-thirty-two-bytes"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token() -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps({"sub": "bench", "exp": 4102444800}).encode())  # the year 2100
    signed = f"{head}.{body}"
    return f"{signed}.{_b64(hmac.new(SECRET, signed.encode(), hashlib.sha256).digest())}"


SCENARIO = Scenario(
    name="middleware_stack",
    title="JSON hello behind a middleware stack",
    description=(
        "GET /json with Origin and a Bearer JWT; CORS, security headers, rate limit, JWT "
        "(and request id on Cello) enabled when CELLO_BENCH_MIDDLEWARE=1."
    ),
    path="/json",
    headers={"Origin": "https://app.example", "Authorization": f"Bearer {_token()}"},
    check=expect_json({"message": "Hello, World!"}),
    order=15,
)
