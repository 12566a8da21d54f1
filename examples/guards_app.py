"""Guards: who may call what (docs/guards.md).

A toy bearer-token lookup stands in for authentication (a real app would call
``app.enable_jwt(JwtConfig(...))``, which puts the token's claims in the same place).
Run it, then try::

    python examples/guards_app.py
    curl -i localhost:8000/me                                       # 401
    curl -i -H "Authorization: Bearer editor-token" localhost:8000/admin   # 403
    curl -i -H "Authorization: Bearer admin-token" localhost:8000/admin    # 200
"""

from __future__ import annotations

from cello import App, Blueprint, Response
from cello.guards import (
    Authenticated,
    Guard,
    IpWhitelist,
    Not,
    Or,
    PermissionGuard,
    RoleGuard,
    constant_time_compare,
)

# Token → user. Each user is a dict, as JWT claims are: guards read "roles" and
# "permissions" from it.
USERS = {
    "admin-token": {"sub": "ada", "roles": ["admin"], "permissions": ["posts:write", "posts:delete"]},
    "editor-token": {"sub": "eve", "roles": ["editor"], "permissions": ["posts:write"]},
    "banned-token": {"sub": "bob", "roles": ["editor", "banned"], "permissions": ["posts:write"]},
    "reader-token": {"sub": "rex", "roles": ["reader"], "permissions": []},
}

app = App()


@app.before_request
def authenticate(request):
    """Puts the token's user in ``request.context["user"]``, where guards look (a
    hook that returns None lets the request go on)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        for known, user in USERS.items():
            if constant_time_compare(token, known):
                request.context["user"] = user


# Every guard that can answer 401 names the scheme, so the 401 carries
# `WWW-Authenticate: Bearer`.
signed_in = Authenticated(scheme="Bearer")
admin_only = RoleGuard(["admin"], scheme="Bearer")
not_banned = Not(RoleGuard(["banned"]), message="banned users cannot post")


class BetaProgram(Guard):
    """A custom guard; `check` may be `async def` (it could look the user up)."""

    detail = "this endpoint is for beta testers: send X-Beta: 1"

    async def check(self, request):
        return request.headers.get("x-beta") == "1"


@app.get("/")
def index(request):
    return {"message": "public: no guard here"}


@app.get("/me", guards=[signed_in])
def me(request):
    return request.context["user"]


@app.get("/admin", guards=[admin_only])
def admin(request):
    return {"admin": True, "users": sorted(user["sub"] for user in USERS.values())}


@app.get("/internal/metrics", guards=[IpWhitelist(["127.0.0.0/8", "::1"])])
def metrics(request):
    return {"client": request.client.host, "requests": "lots"}


@app.get("/beta", guards=[signed_in, BetaProgram()])
async def beta(request):
    return {"beta": True}


# Blueprint guards apply to every route in it, before each route's own guards.
posts = Blueprint("posts", url_prefix="/posts", guards=[signed_in])
POSTS: dict[int, dict[str, str]] = {1: {"title": "Hello", "author": "ada"}}


@posts.get("/")
def list_posts(request):
    return {"posts": POSTS}


@posts.post("/", guards=[PermissionGuard(["posts:write"]), not_banned])
def create_post(request):
    post_id = max(POSTS, default=0) + 1
    POSTS[post_id] = {"title": request.json()["title"], "author": request.context["user"]["sub"]}
    return Response.json({"id": post_id, **POSTS[post_id]}, status=201)


@posts.delete("/{id:int}", guards=[Or(RoleGuard(["admin"]), PermissionGuard(["posts:delete"]))])
def delete_post(request):
    POSTS.pop(request.params["id"], None)
    return Response.no_content()


app.register_blueprint(posts)

if __name__ == "__main__":
    app.run()
