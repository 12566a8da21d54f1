"""POST JSON echo, 64 KB body: request JSON decoding plus response encoding."""

from harness.documents import document_bytes
from harness.scenario import Scenario, expect_json_echo

SCENARIO = Scenario(
    name="echo_64k",
    title="POST JSON echo, 64 KB",
    description="POST /echo with a 65536-byte JSON object returns the parsed object re-encoded.",
    method="POST",
    path="/echo",
    body=document_bytes(65536),
    headers={"Content-Type": "application/json"},
    check=expect_json_echo(),
    order=60,
)
