"""Shared command line and server start for the ASGI/RSGI apps (Granian or Uvicorn).

Not a framework: each app file imports this only in its ``__main__`` block.
"""

import argparse


def parse_args(default_server="granian"):
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--server", choices=("granian", "uvicorn"), default=default_server)
    return parser.parse_args()


def serve(target, interface, port, workers, server="granian"):
    """Run ``target`` ("module:app") with ``workers`` processes, the server's own way."""
    if server == "granian":
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces, Loops
        from granian.log import LogLevels

        Granian(
            target,
            address="127.0.0.1",
            port=port,
            interface=Interfaces(interface),
            workers=workers,
            loop=Loops.uvloop,
            http=HTTPModes.http1,
            log_level=LogLevels.warning,
            log_access=False,
        ).serve()
    else:
        import uvicorn

        uvicorn.run(
            target,
            host="127.0.0.1",
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
