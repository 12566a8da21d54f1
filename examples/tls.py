"""HTTPS with HTTP/2 and HTTP/3:

    python examples/tls.py --tls-cert cert.pem --tls-key key.pem --port 8443 --http3
"""

from cello import App

app = App()


@app.get("/")
def index(request):
    return {"message": "Hello over TLS", "http_version": request.http_version}


if __name__ == "__main__":
    app.run()
