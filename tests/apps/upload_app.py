"""A server for the large-upload test: counts a streamed body, reports peak RSS."""

from cello import App, ServerConfig

app = App()


def peak_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


@app.post("/count")
async def count(request):
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return {"total": total, "peak_rss_kib": peak_rss_kib()}


@app.post("/upload")
async def upload(request):
    files = await request.files()
    sizes = [(f.filename, f.size, f.in_memory) for f in files]
    for f in files:
        f.close()
    return {"files": sizes, "peak_rss_kib": peak_rss_kib()}


if __name__ == "__main__":
    app.run(config=ServerConfig(max_body_size=2 * 1024**3, body_read_timeout=120))
