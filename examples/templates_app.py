"""Server-rendered pages with Jinja2 templates: `python examples/templates_app.py`.

Needs the templates extra: ``pip install 'cello[templates]'``. The templates are in
examples/templates/ (a base layout, an included nav, a macro file and two pages);
docs/templates.md explains each feature used here.
"""

from dataclasses import dataclass
from pathlib import Path

from cello import App, HTTPException, Response


@dataclass
class Product:
    id: int
    name: str
    price: float
    stock: int
    description: str


PRODUCTS = {
    1: Product(1, "Cello strings", 89.5, 12, "A full set, medium tension."),
    2: Product(2, "Rosin", 12.0, 3, "Dark rosin for colder rooms."),
    # Text users typed: the template escapes it, so the script never runs.
    3: Product(3, "Endpin stop", 24.99, 0, "<script>alert('pwned')</script> Keeps the cello put."),
}

app = App()

# Relative to this file, so the example runs from any working directory.
templates = app.enable_templates(
    Path(__file__).parent / "templates",
    globals={"site_name": "Cello Shop", "nav": [("Products", "/"), ("Greeting", "/hello")]},
)
templates.add_filter("money", lambda value: f"${value:,.2f}")
templates.add_global("url", lambda name, **params: {"product": "/products/{id}"}[name].format(**params))


@app.get("/")
def index(request):
    return app.template_response("index.html", {"products": list(PRODUCTS.values())})


@app.get("/products/{id}")
def product(request):
    found = PRODUCTS.get(int(request.params["id"])) if request.params["id"].isdigit() else None
    if found is None:
        raise HTTPException(404, f"no product {request.params['id']}")
    # Starlette's spelling works too; the template can then read `request`.
    return templates.TemplateResponse(request, "product.html", {"product": found})


@app.get("/hello")
async def hello(request):
    # A template from a string is escaped like an .html file: try /hello?name=<b>you</b>.
    name = request.query.get("name", "world")
    return Response.html(app.render_string("<p>Hello, {{ name }}!</p>", name=name))


if __name__ == "__main__":
    app.run()
