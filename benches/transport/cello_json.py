"""JSON hello for Cello (and the original cello-framework), optionally over TLS."""

import argparse

from cello import App

app = App()


@app.get("/json")
def hello(request):
    return {"message": "Hello, World!"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args, _ = parser.parse_known_args()
    options = {}
    if args.cert:
        try:
            from cello import TlsConfig

            options["tls"] = TlsConfig(args.cert, args.key)
        except ImportError:  # the original framework: its TLS options are accepted but unused
            options["tls"] = None
    app.run(host="127.0.0.1", port=args.port, workers=1, env="production", logs=False, **options)
