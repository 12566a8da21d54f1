"""Templates: ``app.enable_templates`` / ``render`` / ``render_string`` (docs/templates.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["TemplatesMixin"]


class TemplatesMixin:
    """``App.enable_templates``, ``App.render``, ``App.render_string``."""

    def enable_templates(self, template_dir: str = "templates", auto_escape: bool = True,
                         globals: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("enable_templates is being built")
