"""The seed's quick start: `python examples/hello.py` (or `make run`)."""

from cello import App

app = App()


@app.get("/")
def hello(request):
    return {"message": "Hello from Cello v1.0.1!"}


@app.get("/users/{id}")
def get_user(request):
    user_id = request.params["id"]
    return {"id": user_id, "name": "Alice"}


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
