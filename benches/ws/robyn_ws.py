"""WebSocket echo for Robyn."""

import argparse
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=8000)
args, _ = parser.parse_known_args()
# Robyn parses its own command line: one process, one worker, quiet.
sys.argv = [sys.argv[0], "--processes", "1", "--workers", "1", "--log-level", "WARNING"]

from robyn import Robyn

app = Robyn(__file__)


@app.websocket("/ws")
async def echo(websocket):
    while True:
        message = await websocket.receive_text()
        await websocket.send_text(message)


if __name__ == "__main__":
    app.start(host="127.0.0.1", port=args.port)
