"""Moving a FastAPI project to Cello route by route (docs/asgi.md).

    pip install fastapi
    python examples/asgi_mount.py

The whole FastAPI app is mounted at /api: its routes, its WebSocket, its lifespan
and its /api/docs keep working. /api/items/{item_id} has been ported to Cello: a Cello
route with a fixed segment at the mount's position wins over the mount, so that path
is now served by Cello while every other /api path still reaches FastAPI.
"""

from contextlib import asynccontextmanager

from cello import App
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

ITEMS = {1: {"id": 1, "name": "pen"}, 2: {"id": 2, "name": "ink"}}


# --- the FastAPI app being migrated (unchanged) ---------------------------------------


@asynccontextmanager
async def lifespan(api: FastAPI):
    # Runs in each Cello worker, from Cello's startup and shutdown hooks.
    yield {"items": ITEMS}


legacy = FastAPI(title="legacy", lifespan=lifespan)


class NewItem(BaseModel):
    name: str


@legacy.get("/items/{item_id}")
async def legacy_item(item_id: int, request: Request):
    return request.state.items[item_id]  # no longer reached: ported below


@legacy.post("/items", status_code=201)
async def create_item(item: NewItem, request: Request):
    items = request.state.items
    new = {"id": max(items) + 1, "name": item.name}
    items[new["id"]] = new
    return new


@legacy.get("/whoami")
async def whoami(request: Request):
    return {"served_by": "fastapi", "path": request.url.path, "root_path": request.scope["root_path"]}


@legacy.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text("echo: " + await websocket.receive_text())
    except WebSocketDisconnect:
        pass


# --- the Cello app that now serves it ----------------------------------------------

app = App()
app.mount("/api", legacy)


@app.get("/")
def index(request):
    return {"message": "Cello in front, FastAPI behind /api"}


@app.get("/api/items/{item_id:int}")
def item(request):
    # Ported: same path and answer as the FastAPI route, now served by Cello.
    found = ITEMS.get(request.params["item_id"])
    if found is None:
        return {"detail": "Not Found"}, 404
    return {**found, "served_by": "cello"}


if __name__ == "__main__":
    app.run()
