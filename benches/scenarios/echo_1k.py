"""POST JSON echo, 1 KB body: request JSON decoding plus response encoding."""

from harness.documents import document_bytes
from harness.scenario import Scenario, expect_json_echo

SCENARIO = Scenario(
    name="echo_1k",
    title="POST JSON echo, 1 KB",
    description="POST /echo with a 1024-byte JSON object returns the parsed object re-encoded.",
    method="POST",
    path="/echo",
    body=document_bytes(1024),
    headers={"Content-Type": "application/json"},
    check=expect_json_echo(),
    order=50,
)
