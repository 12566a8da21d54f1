"""An app with the request-id middleware and the access log on, for test_request_id."""

from cello import App

app = App()
app.enable_request_id()


@app.get("/")
def index(request):
    return {"id": request.request_id}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, logs=True)
