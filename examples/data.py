"""A notes API on SQLite: pools, rows returned as JSON, transactions with savepoints,
and database errors as HTTP answers (docs/data.md). Needs no database server.

    python examples/data.py --port 8000            # notes.db in the working directory
    curl -X POST localhost:8000/notes -H 'content-type: application/json' -d '{"title": "hi"}'
    curl localhost:8000/notes
    curl localhost:8000/notes/1
    curl -X POST localhost:8000/notes/bulk -H 'content-type: application/json' \
         -d '[{"title": "a"}, {"title": "hi"}, {"title": "b"}]'   # "hi" is skipped
    curl localhost:8000/stats

CELLO_DATA_URL chooses another database (``postgresql://...`` needs ``$1`` placeholders).
"""

from __future__ import annotations

import os

from cello import App, DatabaseConfig, HTTPException, Response, UniqueViolation

app = App()
app.enable_database(DatabaseConfig(os.environ.get("CELLO_DATA_URL", "sqlite://notes.db"), pool_size=4))


@app.on_event("startup")
async def create_schema() -> None:
    await app.database.execute(
        "CREATE TABLE IF NOT EXISTS notes ("
        " id INTEGER PRIMARY KEY,"
        " title TEXT NOT NULL UNIQUE,"
        " body TEXT NOT NULL DEFAULT '',"
        " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )


@app.get("/notes")
async def list_notes(request):
    # Rows go to JSON in Rust: [{"id": 1, "title": "hi", ...}, ...]
    return await request.db.fetch("SELECT id, title, body, created_at FROM notes ORDER BY id")


@app.get("/notes/{id:int}")
async def get_note(request):
    note = await request.db.fetchrow("SELECT id, title, body FROM notes WHERE id = ?", request.params["id"])
    if note is None:
        raise HTTPException(404, "no note with that id")
    return note


@app.post("/notes")
async def create_note(request):
    data = request.json()
    try:
        async with request.db.transaction() as tx:
            await tx.execute("INSERT INTO notes (title, body) VALUES (?, ?)", data["title"], data.get("body", ""))
            note_id = await tx.fetchval("SELECT id FROM notes WHERE title = ?", data["title"])
    except UniqueViolation:
        raise HTTPException(409, f"a note titled {data['title']!r} exists") from None
    return Response.json({"id": note_id, "title": data["title"]}, status=201)


@app.post("/notes/bulk")
async def create_many(request):
    """Each note in a savepoint of its own: a duplicate is skipped, the rest is kept."""
    created, skipped = [], []
    async with request.db.transaction() as tx:
        for note in request.json():
            try:
                async with tx.transaction():
                    await tx.execute("INSERT INTO notes (title) VALUES (?)", note["title"])
                created.append(note["title"])
            except UniqueViolation:
                skipped.append(note["title"])
    return {"created": created, "skipped": skipped}


@app.get("/stats")
async def stats(request):
    return {
        "notes": await request.db.fetchval("SELECT COUNT(*) FROM notes"),
        "pool": request.db.stats(),  # this worker's pool
        "worker": os.getpid(),
    }


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
