"""Streaming and real time in one app: SSE, a streamed download, uploads, background
tasks and a WebSocket chat.

    python examples/realtime.py --port 8000
    curl -N localhost:8000/events
    curl -F name=me -F file=@README.md localhost:8000/upload
"""

import asyncio

from cello import App, BackgroundTasks, Response, SseStream

app = App()
app.state.log = []


@app.get("/events")
async def events(request):
    async def stream():
        for i in range(3):
            yield {"event": "update", "data": f"tick {i}"}
            await asyncio.sleep(0.01)

    return SseStream(stream())


@app.get("/download")
def download(request):
    return Response.stream((f"line {n}\n" for n in range(5)), content_type="text/plain")


@app.post("/upload")
async def upload(request):
    files = await request.files()
    form = await request.form()
    return {"name": form.get("name"), "files": [(f.filename, f.size) for f in files]}


def remember(entry):
    app.state.log.append(entry)


@app.post("/orders")
async def create_order(request):
    tasks = BackgroundTasks()
    tasks.add_task(remember, request.json())
    return Response.json({"status": "created"}, status=201)


@app.get("/log")
def log(request):
    return app.state.log


@app.websocket("/ws/chat")
async def chat(ws):
    async for message in ws:
        await ws.send(f"Echo: {message}")


if __name__ == "__main__":
    app.run()
