"""Templates: Jinja2 syntax, escaping, globals and filters, errors that say what to do, and
pages served over a real socket."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import httpx
import pytest
from cello import App, Response
from cello.templating import (
    MiniJinjaEngine,
    TemplateEngine,
    TemplateNotFound,
    TemplateSyntaxError,
)
from cello.testing import LiveServer, TestClient
from markupsafe import Markup

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def site(tmp_path: Path) -> Path:
    """A base layout, a page extending it, a partial and a macro file."""
    return write(tmp_path / "templates", {
        "base.html": (
            "<title>{% block title %}Site{% endblock %}</title>"
            "{% include 'partials/nav.html' %}"
            "<main>{% block content %}{% endblock %}</main>"
        ),
        "partials/nav.html": "<nav>{{ links|join(' | ') }}</nav>",
        "macros.html": "{% macro badge(text, kind='info') %}<b class=\"{{ kind }}\">{{ text }}</b>{% endmacro %}",
        "page.html": (
            "{% extends 'base.html' %}{% from 'macros.html' import badge %}"
            "{% block title %}{{ title|upper }} - {{ super() }}{% endblock %}"
            "{% block content %}{% for item in items %}"
            "<p>{{ loop.index }}. {{ item.name|title }} {{ badge(item.state, kind=item.state) }}</p>"
            "{% else %}<p>none</p>{% endfor %}{% endblock %}"
        ),
    })


def test_inheritance_include_macro_loop_and_filters(tmp_path: Path) -> None:
    app = App()
    app.enable_templates(site(tmp_path))
    items = [{"name": "first item", "state": "new"}, {"name": "second", "state": "done"}]
    html = app.render("page.html", {"title": "orders", "links": ["Home", "Shop"], "items": items})
    assert html == (
        "<title>ORDERS - Site</title><nav>Home | Shop</nav><main>"
        '<p>1. First Item <b class="new">new</b></p>'
        '<p>2. Second <b class="done">done</b></p></main>'
    )
    assert app.render("page.html", title="t", links=[], items=[]).endswith("<main><p>none</p></main>")


def test_context_values_are_escaped_in_render_and_render_string(tmp_path: Path) -> None:
    templates = write(tmp_path, {"page.html": "<p>{{ note }}</p>", "feed.xml": "<t>{{ note }}</t>",
                                 "page.html.j2": "{{ note }}", "mail.txt": "{{ note }}"})
    app = App()
    app.enable_templates(templates)
    assert app.render("page.html", note=SCRIPT) == f"<p>{ESCAPED}</p>"
    assert app.render("feed.xml", note=SCRIPT) == f"<t>{ESCAPED}</t>"
    assert app.render("page.html.j2", note=SCRIPT) == ESCAPED
    # 1.4.1's render_string did not escape; a string is escaped like an .html template.
    assert app.render_string("<p>{{ note }}</p>", {"note": SCRIPT}) == f"<p>{ESCAPED}</p>"
    # Plain-text templates are not HTML, so not escaped.
    assert app.render("mail.txt", note="a < b & c") == "a < b & c"


def test_safe_and_markup_are_not_escaped(tmp_path: Path) -> None:
    app = App()
    app.enable_templates(tmp_path)
    assert app.render_string("{{ html|safe }}", html="<em>hi</em>") == "<em>hi</em>"
    assert app.render_string("{{ html }}", html=Markup("<em>hi</em>")) == "<em>hi</em>"
    assert app.render_string("{{ html|e }}{{ html }}", html="<>") == "&lt;&gt;&lt;&gt;"


def test_auto_escape_off_escapes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"page.html": "{{ note }}"})
    app = App()
    app.enable_templates(tmp_path, auto_escape=False)
    assert app.render("page.html", note=SCRIPT) == SCRIPT
    assert app.render_string("{{ note }}", note=SCRIPT) == SCRIPT


def test_template_engine_old_name_escapes_by_default(tmp_path: Path) -> None:
    write(tmp_path, {"page.html": "{{ note }}"})
    engine = TemplateEngine(template_dir=str(tmp_path))
    assert isinstance(engine, MiniJinjaEngine)
    assert engine.render("page.html", {"note": SCRIPT}) == ESCAPED
    assert engine.render_string("{{ note }}", {"note": SCRIPT}) == ESCAPED
    assert TemplateEngine(str(tmp_path), auto_escape=False).render("page.html", {"note": "<"}) == "<"


def test_globals_reach_every_template_including_included_ones(tmp_path: Path) -> None:
    write(tmp_path, {"page.html": "{{ site }}/{% include 'footer.html' %}", "footer.html": "{{ year }} {{ url('home') }}"})
    app = App()
    engine = app.enable_templates(tmp_path, globals={"site": "Cello", "year": 2026})
    engine.add_global("url", lambda name: f"/{name}/")
    assert app.render("page.html") == "Cello/2026 /home/"
    assert app.render_string("{{ site }} {{ url('x') }}") == "Cello /x/"
    # The context wins over a global of the same name.
    assert app.render_string("{{ site }}", site="Other") == "Other"


def test_custom_filter_with_arguments_and_escaping(tmp_path: Path) -> None:
    app = App()
    engine = app.enable_templates(tmp_path)
    engine.add_filter("money", lambda value, currency="$": f"{currency}{value:,.2f}")
    engine.add_filter("shout", lambda text: text.upper() + "!")
    assert app.render_string("{{ 1234.5|money }} {{ 3|money('€') }}") == "$1,234.50 €3.00"
    # A filter's plain-str result is still escaped.
    assert app.render_string("{{ '<b>'|shout }}") == "&lt;B&gt;!"
    with pytest.raises(TypeError, match="needs a callable"):
        engine.add_filter("broken", "not a function")  # type: ignore[arg-type]


def test_render_before_enable_templates_says_to_call_it() -> None:
    app = App()
    for call in (lambda: app.render("page.html"), lambda: app.render_string("x"),
                 lambda: app.template_response("page.html")):
        with pytest.raises(RuntimeError, match=r"call app\.enable_templates\('templates'\)"):
            call()


def test_missing_template_names_the_directory_and_the_fix(tmp_path: Path) -> None:
    write(tmp_path, {"page.html": "{% include 'partials/missing.html' %}"})
    app = App()
    app.enable_templates(tmp_path)
    with pytest.raises(TemplateNotFound) as missing:
        app.render("nope.html")
    message = str(missing.value)
    assert f"'nope.html' not found in {tmp_path}" in message
    assert f"create {tmp_path / 'nope.html'}" in message
    assert missing.value.template_dir == str(tmp_path) and missing.value.name == "nope.html"
    assert isinstance(missing.value, LookupError)
    with pytest.raises(TemplateNotFound, match=r"'partials/missing.html' \(included while rendering 'page.html'\)"):
        app.render("page.html")


def test_missing_template_directory_is_reported(tmp_path: Path) -> None:
    app = App()
    app.enable_templates(tmp_path / "absent")
    with pytest.raises(TemplateNotFound, match="that directory does not exist"):
        app.render("page.html")


def test_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    write(tmp_path, {"bad.html": "<p>\n{% for x in xs %}\n{{ x }\n{% endfor %}\n",
                     "child.html": "{% extends 'bad.html' %}"})
    app = App()
    app.enable_templates(tmp_path)
    for name in ("bad.html", "child.html"):
        with pytest.raises(TemplateSyntaxError) as error:
            app.render(name, xs=[1])
        assert str(error.value).startswith(f"{tmp_path / 'bad.html'}, line 3: ")
        assert "{{ x }" in str(error.value)
        assert error.value.lineno == 3
    with pytest.raises(TemplateSyntaxError, match=r"^<string>, line 1: "):
        app.render_string("{% if %}")


def test_templates_are_compiled_once_and_reloaded_only_when_asked(tmp_path: Path) -> None:
    page = write(tmp_path, {"page.html": "one"}) / "page.html"
    app = App()
    engine = app.enable_templates(tmp_path)
    assert engine.get_template("page.html") is engine.get_template("page.html")
    assert app.render("page.html") == "one"

    def edit(text: str) -> None:
        page.write_text(text)
        later = page.stat().st_mtime + 10
        os.utime(page, (later, later))

    edit("two")
    assert app.render("page.html") == "one"  # cached: not in debug mode
    app.debug = True  # what `app.run(debug=True)` sets
    assert app.render("page.html") == "two"
    app.debug = False
    edit("three")
    assert app.render("page.html") == "two"
    reloading = App().enable_templates(tmp_path, auto_reload=True)
    reloading.render("page.html")
    edit("four")
    assert reloading.render("page.html") == "four"


def test_render_string_caches_its_compiled_source(tmp_path: Path) -> None:
    engine = MiniJinjaEngine(tmp_path)
    calls = []
    original = engine.environment.from_string

    def counting(source: str) -> object:
        calls.append(source)
        return original(source)

    engine.environment.from_string = counting  # type: ignore[method-assign,assignment]
    assert [engine.render_string("{{ n }}", n=n) for n in range(3)] == ["0", "1", "2"]
    assert calls == ["{{ n }}"]


def test_without_jinja2_enable_templates_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # `import jinja2` now fails
    with pytest.raises(ImportError, match=r"pip install 'cello\[templates\]'"):
        App().enable_templates(tmp_path)


def test_template_response_builds_an_html_response(tmp_path: Path) -> None:
    write(tmp_path, {"page.html": "{{ request.path }} {{ n }}", "feed.xml": "<n>{{ n }}</n>"})
    app = App()
    templates = app.enable_templates(tmp_path)
    response = app.template_response("feed.xml", {"n": 1}, status=201, headers={"X-A": "b"},
                                     media_type="application/xml")
    assert isinstance(response, Response)
    assert (response.status_code, response.body) == (201, b"<n>1</n>")
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["x-a"] == "b"
    # Starlette's two spellings.
    old = templates.TemplateResponse("feed.xml", {"n": 2}, status_code=202)
    assert (old.status_code, old.body, old.headers["content-type"]) == (
        202, b"<n>2</n>", "text/html; charset=utf-8")

    class FakeRequest:
        path = "/here"

    new = templates.TemplateResponse(FakeRequest(), "page.html", {"n": 3}, status_code=203)
    assert (new.status_code, new.body) == (203, b"/here 3")


def test_handlers_serve_rendered_pages_over_a_real_socket(tmp_path: Path) -> None:
    site(tmp_path)
    write(tmp_path / "templates", {"hello.html": "<h1>Hello {{ name }}</h1><p>{{ request.path }}</p>"})
    app = App()
    templates = app.enable_templates(tmp_path / "templates")

    @app.get("/sync/{name}")
    def sync_page(request):
        return app.template_response("hello.html", {"name": request.params["name"], "request": request})

    @app.get("/async")
    async def async_page(request):
        return templates.TemplateResponse(request, "hello.html", {"name": SCRIPT})

    @app.get("/page")
    def page(request):
        items = [{"name": "x", "state": "new"}]
        return Response.html(app.render("page.html", title="t", links=["a"], items=items))

    @app.get("/broken")
    def broken(request):
        return app.template_response("missing.html")

    with LiveServer(app) as server:
        sync = httpx.get(server.url + "/sync/ann")
        assert (sync.status_code, sync.headers["content-type"]) == (200, "text/html; charset=utf-8")
        assert sync.text == "<h1>Hello ann</h1><p>/sync/ann</p>"
        served = httpx.get(server.url + "/async")
        assert served.headers["content-type"] == "text/html; charset=utf-8"
        assert served.text == f"<h1>Hello {ESCAPED}</h1><p>/async</p>"
        assert '<b class="new">new</b>' in httpx.get(server.url + "/page").text
        assert httpx.get(server.url + "/broken").status_code == 500


def test_missing_template_in_a_debug_handler_shows_the_fix(tmp_path: Path) -> None:
    app = App()
    app.enable_templates(tmp_path)
    app.debug = True

    @app.get("/")
    def index(request):
        return app.template_response("index.html")

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert f"create {tmp_path / 'index.html'}" in response.text


def test_what_minijinja_templates_of_1_4_1_used_still_renders(tmp_path: Path) -> None:
    app = App()
    app.enable_templates(tmp_path)
    source = (
        "{% for word in 'a b c'|split %}{% if word == 'c' %}{% break %}{% endif %}"
        "{% if word is startingwith('b') %}{% continue %}{% endif %}{{ word }}{% endfor %}"
        "|{{ 'x\\ny'|lines|length }}|{{ 0|bool }}|{{ 'k=v=w'|split('=', 1)|last }}"
        "|{{ 'file.html' is endingwith('.html') }}"
    )
    assert app.render_string(source) == "a|2|False|v=w|True"


def test_errors_are_value_errors_as_in_1_4_1_and_rendering_errors_name_the_line(
    tmp_path: Path,
) -> None:
    import jinja2

    write(tmp_path, {"page.html": "<p>\n{{ user.name }}\n</p>"})
    app = App()
    engine = app.enable_templates(tmp_path)
    engine.environment.undefined = jinja2.StrictUndefined
    page = re.escape(str(tmp_path / "page.html"))
    with pytest.raises(ValueError, match=rf"^{page}, line 2: 'user' is undefined$"):
        app.render("page.html")
    with pytest.raises(ValueError, match=r"^<string>, line 1: 'x' is undefined$"):
        app.render_string("{{ x }}")
    with pytest.raises(ValueError, match="not found"):
        app.render("nope.html")
    # An exception of the app's own passes through unchanged.
    engine.add_global("fail", lambda: (_ for _ in ()).throw(KeyError("mine")))
    with pytest.raises(KeyError, match="mine"):
        app.render_string("{{ fail() }}")


def test_enable_templates_twice_is_refused(tmp_path: Path) -> None:
    app = App()
    app.enable_templates(tmp_path)
    with pytest.raises(RuntimeError, match="already called"):
        app.enable_templates(tmp_path)


def test_engine_keeps_1_4_1_methods(tmp_path: Path) -> None:
    page = write(tmp_path, {"page.html": "{{ a }}{{ b }}"}) / "page.html"
    engine = MiniJinjaEngine(template_dir=str(tmp_path), auto_escape=True)
    assert (engine.template_dir, engine.auto_escape) == (str(tmp_path), True)
    engine.add_globals({"a": 1, "b": 2})
    assert engine.render("page.html", {}) == "12"
    page.write_text("changed")
    assert engine.render("page.html", {}) == "12"
    engine.clear_cache()
    assert engine.render("page.html", {}) == "changed"
    assert App().enable_templates(tmp_path).render("page.html") == "changed"
