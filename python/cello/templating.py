"""Templates: Jinja2 behind ``app.enable_templates`` / ``render`` / ``render_string``.

Rendering uses Jinja2 itself (the ``cello[templates]`` extra), so templates, filters and
extensions written for Flask or Starlette work unchanged; docs/templates.md says why it is
Jinja2 rather than the Rust minijinja, with the measurements. Unlike Cello 1.4.1, every
engine escapes HTML by default, ``render_string`` included.

Example:
    >>> from cello import App
    >>> app = App()
    >>> _ = app.enable_templates("templates")
    >>> app.render_string("<p>{{ name }}</p>", {"name": "<script>"})
    '<p>&lt;script&gt;</p>'
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from cello.exceptions import CelloError
from cello.responses import Response

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "AUTO_ESCAPE_EXTENSIONS",
    "MiniJinjaEngine",
    "TemplateEngine",
    "TemplateError",
    "TemplateNotFound",
    "TemplateSyntaxError",
    "TemplatesMixin",
]

#: Templates whose names end in one of these (before an optional ``.j2``/``.jinja``/
#: ``.jinja2``) are autoescaped when ``auto_escape`` is on; so are ``render_string`` sources.
AUTO_ESCAPE_EXTENSIONS: tuple[str, ...] = ("html", "htm", "xhtml", "xml", "svg")
_JINJA_SUFFIXES = (".j2", ".jinja", ".jinja2")
_INSTALL = "pip install 'cello[templates]'"
_T = TypeVar("_T")
# Compiled `render_string` sources kept; an app renders a handful of fixed strings, and
# the bound keeps one that builds sources from user input from growing without end.
_STRING_CACHE_SIZE = 256


class TemplateError(CelloError, ValueError):
    """A template failed: the base of `TemplateNotFound` and `TemplateSyntaxError`, and
    what a Jinja2 error while rendering (an undefined value under ``StrictUndefined``...)
    becomes, its message starting with the template's file and line. Jinja2's error is the
    ``__cause__``. A `ValueError`, as every template error was in Cello 1.4.1.
    """


class TemplateNotFound(TemplateError, LookupError):
    """No template of that name in the template directory.

    Attributes:
        name: the template that was asked for (or included) and is missing.
        template_dir: the absolute directory searched.
    """

    def __init__(self, name: str, template_dir: str, rendering: str | None = None) -> None:
        self.name = name
        self.template_dir = template_dir
        where = f" (included while rendering {rendering!r})" if rendering else ""
        if os.path.isdir(template_dir):
            fix = (
                f"create {os.path.join(template_dir, name)}, or point "
                "app.enable_templates(template_dir=...) at the directory that holds it"
            )
        else:
            fix = (
                "that directory does not exist: create it, or pass the right one to "
                "app.enable_templates(template_dir=...) (a relative path is resolved from "
                "the working directory; Path(__file__).parent / 'templates' does not depend on it)"
            )
        super().__init__(f"template {name!r}{where} not found in {template_dir}: {fix}")


class TemplateSyntaxError(TemplateError):
    """A template does not parse; the message names the file and the line.

    Attributes:
        name: the template's name (``None`` for a ``render_string`` source).
        filename: the file's path (``"<string>"`` for a ``render_string`` source).
        lineno: the line, from 1.
        message: what the parser said.
    """

    def __init__(self, name: str | None, filename: str, lineno: int, message: str,
                 source_line: str | None = None) -> None:
        self.name = name
        self.filename = filename
        self.lineno = lineno
        self.message = message
        text = f"{filename}, line {lineno}: {message}"
        if source_line:
            text += f"\n    {source_line.strip()}"
        super().__init__(text)


def _import_jinja2() -> Any:
    try:
        import jinja2
    except ImportError as error:
        raise ImportError(
            f"templates render with Jinja2, which is not installed: {_INSTALL} "
            "(or pip install 'jinja2>=3.1')",
            name="jinja2",
        ) from error
    return jinja2


def _escapes(template_name: str | None) -> bool:
    """Jinja2's autoescape callback: HTML-like names and strings escape."""
    if template_name is None:
        return True
    name = template_name.lower()
    for suffix in _JINJA_SUFFIXES:
        name = name.removesuffix(suffix)
    _, dot, extension = name.rpartition(".")
    return bool(dot) and extension in AUTO_ESCAPE_EXTENSIONS


def _split(text: str, separator: str | None = None, max_splits: int = -1) -> list[str]:
    return text.split(separator, max_splits)


# What Cello 1.4.1 templates (rendered by the Rust minijinja) may use and Jinja2 lacks:
# registered so they keep rendering. `{% break %}`/`{% continue %}` come from Jinja2's
# loopcontrols extension.
_COMPAT_FILTERS: dict[str, Callable[..., Any]] = {
    "split": _split,
    "lines": str.splitlines,
    "bool": bool,
}
_COMPAT_TESTS: dict[str, Callable[..., bool]] = {
    "startingwith": lambda value, prefix: str(value).startswith(prefix),
    "endingwith": lambda value, suffix: str(value).endswith(suffix),
}


class MiniJinjaEngine:
    """Loads templates from `template_dir` and renders them with Jinja2.

    Templates are compiled once and cached; ``auto_reload`` rechecks each file's
    modification time on use (the app turns it on in debug mode).

    Args:
        template_dir: where templates live; a relative path is resolved from the
            working directory when the engine is made.
        auto_escape: escape ``{{ values }}`` in ``.html``, ``.htm``, ``.xhtml``, ``.xml``
            and ``.svg`` templates and in `render_string` sources; ``|safe`` or a
            ``markupsafe.Markup`` value opts out. ``False`` escapes nothing.
        globals: names every template sees.
        auto_reload: reload a template whose file changed since it was compiled.

    The name is Cello 1.4.1's; the engine has been Jinja2 since (docs/templates.md).

    Example:
        >>> from cello.templating import MiniJinjaEngine
        >>> engine = MiniJinjaEngine("templates")
        >>> engine.add_filter("shout", lambda text: text.upper() + "!")
        >>> engine.render_string("{{ word|shout }}", {"word": "hi"})
        'HI!'
    """

    def __init__(
        self,
        template_dir: str | os.PathLike[str] = "templates",
        auto_escape: bool = True,
        *,
        globals: Mapping[str, Any] | None = None,  # shadows the builtin: 1.4.1's keyword
        auto_reload: bool = False,
    ) -> None:
        jinja = _import_jinja2()
        self.template_dir = os.path.abspath(os.fspath(template_dir))
        self.auto_escape = auto_escape
        self._environment: jinja2.Environment = jinja.Environment(
            loader=jinja.FileSystemLoader(self.template_dir),
            autoescape=_escapes if auto_escape else False,
            auto_reload=auto_reload,
            extensions=["jinja2.ext.loopcontrols"],
        )
        self._environment.filters.update(_COMPAT_FILTERS)
        self._environment.tests.update(_COMPAT_TESTS)
        self._strings: Any = jinja.utils.LRUCache(_STRING_CACHE_SIZE)
        self._jinja = jinja
        if globals:
            self._environment.globals.update(globals)

    @property
    def environment(self) -> jinja2.Environment:
        """The Jinja2 ``Environment``: for tests, extensions and policies."""
        return self._environment

    @property
    def auto_reload(self) -> bool:
        """Whether a changed template file is recompiled on its next use."""
        return self._environment.auto_reload

    @auto_reload.setter
    def auto_reload(self, value: bool) -> None:
        self._environment.auto_reload = value

    def add_global(self, name: str, value: Any) -> None:
        """Makes `value` visible as `name` in every template (a function becomes callable
        there, e.g. a ``url_for``)."""
        self._environment.globals[name] = value

    def add_globals(self, values: Mapping[str, Any]) -> None:
        """`add_global` for each item of `values` (1.4.1's spelling)."""
        self._environment.globals.update(values)

    def add_filter(self, name: str, function: Callable[..., Any]) -> None:
        """Registers ``{{ value|name(args) }}``, which calls ``function(value, *args)``.
        Jinja2's ``pass_context``/``pass_environment`` decorators work on it."""
        if not callable(function):
            raise TypeError(f"add_filter({name!r}, ...) needs a callable, got {function!r}")
        self._environment.filters[name] = function

    def clear_cache(self) -> None:
        """Forgets every compiled template; each is read again on its next use."""
        if self._environment.cache is not None:
            self._environment.cache.clear()
        self._strings.clear()

    def get_template(self, name: str) -> jinja2.Template:
        """The compiled template `name` (from the cache after its first use)."""
        return self._guarded(name, lambda: self._environment.get_template(name))

    def render(self, name: str, context: Mapping[str, Any] | None = None, **values: Any) -> str:
        """Renders template `name` (a path inside `template_dir`, ``/``-separated) with
        `context` and the keyword `values`.

        Raises:
            TemplateNotFound: the template, or one it extends or includes, is missing.
            TemplateSyntaxError: a template does not parse.
        """
        template = self.get_template(name)
        variables = {**context, **values} if context else values
        return self._guarded(name, lambda: template.render(variables))

    def render_string(
        self, source: str, context: Mapping[str, Any] | None = None, **values: Any
    ) -> str:
        """Renders template text `source`; it may extend or include files from
        `template_dir`. Escapes like an ``.html`` template when ``auto_escape`` is on."""
        template: jinja2.Template | None = self._strings.get(source)
        if template is None:
            template = self._guarded(None, lambda: self._environment.from_string(source))
            self._strings[source] = template
        variables = {**context, **values} if context else values
        return self._guarded(None, lambda: template.render(variables))

    def TemplateResponse(self, *args: Any, **kwargs: Any) -> Response:
        """A `Response` holding a rendered template, spelled as in Starlette so code
        moving over keeps working.

        Takes ``(name, context=None, status_code=200, headers=None,
        media_type="text/html", background=None)``, or Starlette's newer
        ``(request, name, context=None, ...)``, which also puts ``request`` in the context.
        A ``text/*`` media type gets ``; charset=utf-8``.
        """
        if args and not isinstance(args[0], str):
            kwargs["request"] = args[0]
            args = args[1:]
        return self._response(*args, **kwargs)

    def _response(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str = "text/html",
        background: Any = None,
        request: Any = None,
    ) -> Response:
        variables = dict(context or {})
        if request is not None:
            variables.setdefault("request", request)
        body = self.render(name, variables)
        if media_type.startswith("text/") and "charset" not in media_type:
            media_type += "; charset=utf-8"
        return Response(body, status_code, headers, media_type, background=background)

    def _guarded(self, name: str | None, action: Callable[[], _T]) -> _T:
        """Runs `action`, turning Jinja2's errors into ours."""
        jinja = self._jinja
        try:
            return action()
        except jinja.TemplateNotFound as error:
            missing = error.name if isinstance(error.name, str) else str(error)
            rendering = name if name is not None and name != missing else None
            raise TemplateNotFound(missing, self.template_dir, rendering) from error
        except jinja.TemplateSyntaxError as error:
            lines = (error.source or "").splitlines()
            line = lines[error.lineno - 1] if 0 < error.lineno <= len(lines) else None
            filename = error.filename or error.name or "<string>"
            raise TemplateSyntaxError(error.name, filename, error.lineno, error.message or "",
                                      line) from error
        except jinja.TemplateError as error:
            # Exceptions of the app's own (an HTTPException from a global...) pass as they
            # are; Jinja2's own get the template line its rewritten traceback points at.
            where = [frame for frame in traceback.extract_tb(error.__traceback__)
                     if frame.filename == "<template>"
                     or frame.filename.startswith(self.template_dir + os.sep)]
            if not where:
                raise TemplateError(f"{name or '<string>'}: {error}") from error
            filename = "<string>" if where[-1].filename == "<template>" else where[-1].filename
            raise TemplateError(f"{filename}, line {where[-1].lineno}: {error}") from error

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(template_dir={self.template_dir!r}, "
                f"auto_escape={self.auto_escape!r})")


class TemplateEngine(MiniJinjaEngine):
    """Cello 1.4.1's other name for the engine.

    In 1.4.1 it did not escape; here it escapes HTML exactly like `MiniJinjaEngine`
    (pass ``auto_escape=False`` for the old output, and only for trusted values).
    """


class TemplatesMixin:
    """``App.enable_templates``, ``App.render``, ``App.render_string``,
    ``App.template_response``."""

    _template_engine: MiniJinjaEngine | None = None
    # enable_templates(auto_reload=None): follow `app.debug` at render time.
    _templates_follow_debug = False

    def enable_templates(
        self,
        template_dir: str | os.PathLike[str] = "templates",
        auto_escape: bool = True,
        globals: Mapping[str, Any] | None = None,  # shadows the builtin: 1.4.1's keyword
        *,
        auto_reload: bool | None = None,
    ) -> MiniJinjaEngine:
        """Makes `render`, `render_string` and `template_response` available.

        Args:
            template_dir: where templates live, resolved from the working directory now.
            auto_escape: escape values in HTML/XML templates and in `render_string`.
            globals: names every template sees.
            auto_reload: recompile templates whose files changed; by default, in debug
                mode only.

        Returns:
            The engine, for ``add_filter``/``add_global`` and Starlette-style
            ``templates.TemplateResponse(...)``.

        Raises:
            ImportError: Jinja2 is not installed (``pip install 'cello[templates]'``).
            RuntimeError: templates were already enabled on this app.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> templates = app.enable_templates("templates", globals={"site": "Cello"})
            >>> app.render_string("{{ site }}")
            'Cello'
        """
        if self._template_engine is not None:
            # As in 1.4.1: a second call would drop the first one's globals and filters.
            raise RuntimeError(
                "enable_templates() was already called on this app (for "
                f"{self._template_engine.template_dir}); call it once, during setup, and "
                "add globals and filters to the engine it returned"
            )
        engine = MiniJinjaEngine(template_dir, auto_escape, globals=globals,
                                 auto_reload=bool(auto_reload))
        self._template_engine = engine
        self._templates_follow_debug = auto_reload is None
        return engine

    def _templates(self, call: str) -> MiniJinjaEngine:
        engine = self._template_engine
        if engine is None:
            raise RuntimeError(
                f"app.{call}(...) needs templates, which are not enabled: call "
                "app.enable_templates('templates') (the directory holding them) once, "
                "before serving (docs/templates.md)"
            )
        if self._templates_follow_debug:
            debug = bool(getattr(self, "debug", False))
            if engine.auto_reload is not debug:
                engine.auto_reload = debug
        return engine

    def render(
        self, template_name: str, context: Mapping[str, Any] | None = None, **values: Any
    ) -> str:
        """Renders template `template_name` from the template directory
        (`MiniJinjaEngine.render`)."""
        return self._templates("render").render(template_name, context, **values)

    def render_string(
        self, source: str, context: Mapping[str, Any] | None = None, **values: Any
    ) -> str:
        """Renders template text `source` (`MiniJinjaEngine.render_string`)."""
        return self._templates("render_string").render_string(source, context, **values)

    def template_response(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str = "text/html",
    ) -> Response:
        """A ``text/html; charset=utf-8`` `Response` holding the rendered template.

        Example:
            >>> from cello import App
            >>> app = App()
            >>> @app.get("/")
            ... def index(request):
            ...     return app.template_response("index.html", {"title": "Home"})
        """
        engine = self._templates("template_response")
        return engine._response(name, context, status, headers, media_type)
