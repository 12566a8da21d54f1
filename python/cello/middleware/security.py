"""Security headers: `SecurityHeadersConfig` and the `CSP` builder, with the original
framework's fields and defaults and the keyword spellings its docs use."""

from __future__ import annotations

from typing import Any

__all__ = ["CSP", "SecurityHeadersConfig"]

_DIRECTIVES = (
    "default_src", "script_src", "style_src", "img_src", "connect_src", "font_src",
    "media_src", "frame_src", "object_src", "base_uri", "form_action", "frame_ancestors",
    "worker_src", "manifest_src",
)
# CSP keywords must be single-quoted; accept them bare too (`"self"` → `'self'`).
_KEYWORDS = {
    "self", "none", "unsafe-inline", "unsafe-eval", "strict-dynamic", "unsafe-hashes",
    "report-sample", "wasm-unsafe-eval",
}


def _source(value: str) -> str:
    return f"'{value}'" if value in _KEYWORDS else value


class CSP:
    """A Content-Security-Policy, built from directives.

    Both forms of the original work: keyword arguments, and builder methods that take a
    list of sources and return the policy.

    Example:
        >>> CSP(default_src=["'self'"], img_src=["'self'", "data:"]).build()
        "default-src 'self'; img-src 'self' data:"
        >>> CSP().default_src(["self"]).script_src(["self", "https://cdn.example"]).build()
        "default-src 'self'; script-src 'self' https://cdn.example"
    """

    def __init__(self, **directives: list[str] | str) -> None:
        self._directives: dict[str, list[str]] = {}
        for name, sources in directives.items():
            self._set(name, sources)

    def _set(self, name: str, sources: list[str] | str) -> CSP:
        if name not in _DIRECTIVES:
            raise TypeError(f"CSP has no directive {name!r}; use one of {', '.join(_DIRECTIVES)}")
        values = [sources] if isinstance(sources, str) else list(sources)
        for value in values:
            if any(ch in value for ch in ";,\r\n"):
                raise ValueError(f"CSP {name}: {value!r} may not contain ';', ',' or a line break")
        self._directives[name] = [_source(v) for v in values]
        return self

    def __getattr__(self, name: str) -> Any:
        if name in _DIRECTIVES:
            return lambda sources: self._set(name, sources)
        raise AttributeError(name)

    def build(self) -> str:
        """The header value."""
        return "; ".join(
            " ".join([name.replace("_", "-"), *sources]) for name, sources in self._directives.items()
        )

    def __str__(self) -> str:
        return self.build()

    def __repr__(self) -> str:
        return f"CSP({self.build()!r})"


class SecurityHeadersConfig:
    """Which security headers every response gets (error responses included).

    A header the handler sets itself is left alone. HSTS is sent only on requests that
    came over TLS. `None` leaves a header out.

    Example:
        >>> from cello import App, SecurityHeadersConfig, CSP
        >>> app = App()
        >>> app.enable_security_headers(SecurityHeadersConfig(
        ...     csp=CSP(default_src=["'self'"]), hsts_max_age=31536000))
    """

    def __init__(
        self,
        x_frame_options: str | None = "DENY",
        x_content_type_options: bool | str = True,
        x_xss_protection: str | None = "1; mode=block",
        referrer_policy: str | None = "strict-origin-when-cross-origin",
        hsts_max_age: int | None = None,
        hsts_include_subdomains: bool = False,
        hsts_preload: bool = False,
        csp: CSP | str | None = None,
        permissions_policy: str | None = None,
        coep: str | None = None,
        coop: str | None = None,
        corp: str | None = None,
        **aliases: Any,
    ) -> None:
        # Spellings the original's docs use.
        known = {"hsts", "frame_options", "content_type_nosniff", "xss_protection"}
        unknown = set(aliases) - known
        if unknown:
            raise TypeError(f"SecurityHeadersConfig got unexpected arguments: {', '.join(sorted(unknown))}")
        if "frame_options" in aliases:
            x_frame_options = aliases["frame_options"]
        if "content_type_nosniff" in aliases:
            x_content_type_options = bool(aliases["content_type_nosniff"])
        if "xss_protection" in aliases:
            x_xss_protection = aliases["xss_protection"]
        if "hsts" in aliases:
            hsts = aliases["hsts"]
            hsts_max_age = (31536000 if hsts is True else int(hsts)) if hsts else None
        if isinstance(x_content_type_options, str):
            if x_content_type_options.lower() != "nosniff":
                raise ValueError("x_content_type_options takes True/False (or 'nosniff')")
            x_content_type_options = True
        if hsts_max_age is not None and hsts_max_age < 0:
            raise ValueError(f"hsts_max_age must be 0 or more seconds, got {hsts_max_age}")
        self.x_frame_options = x_frame_options
        self.x_content_type_options = bool(x_content_type_options)
        self.x_xss_protection = x_xss_protection
        self.referrer_policy = referrer_policy
        self.hsts_max_age = hsts_max_age
        self.hsts_include_subdomains = hsts_include_subdomains
        self.hsts_preload = hsts_preload
        self.csp = csp.build() if isinstance(csp, CSP) else csp
        self.permissions_policy = permissions_policy
        self.coep = coep
        self.coop = coop
        self.corp = corp

    @staticmethod
    def secure() -> SecurityHeadersConfig:
        """The strict preset: HSTS for a year with subdomains, frames denied."""
        return SecurityHeadersConfig(hsts_max_age=31536000, hsts_include_subdomains=True)

    def _arguments(self) -> tuple[Any, ...]:
        return (
            self.x_frame_options, self.x_content_type_options, self.x_xss_protection,
            self.referrer_policy, self.hsts_max_age, self.hsts_include_subdomains,
            self.hsts_preload, self.csp, self.permissions_policy, self.coep, self.coop, self.corp,
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"SecurityHeadersConfig({fields})"
