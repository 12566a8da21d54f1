"""`StaticFilesConfig`: serving a directory under a URL prefix, in Rust."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["StaticFilesConfig"]


class StaticFilesConfig:
    """Serves the files under `root` at `prefix` (``GET``/``HEAD``): streamed, with
    ``ETag``/``Last-Modified`` and 304s, single ``Range`` requests (206/416),
    precompressed ``.br``/``.zst``/``.gz`` siblings when the client accepts them, and
    `cache_control`. Traversal (``..``, encoded or double-encoded dots, backslashes,
    NUL, symlinks leading out of `root`) is a 404. A path with no file falls through to
    the app's routes. Files are answered before authentication: keep them public.

    Args:
        root: the directory (``directory=`` is the docs' spelling).
        prefix: the URL prefix, ``"/static"`` by default.
        index_file: served for a directory URL (``None``: none).
        cache_max_age: shorthand for ``cache_control="public, max-age=N"``.

    Example:
        >>> from cello import App, StaticFilesConfig
        >>> app = App()
        >>> app.enable_static_files(StaticFilesConfig(".", prefix="/files"))
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        prefix: str = "/static",
        index_file: str | None = "index.html",
        enable_etag: bool = True,
        enable_last_modified: bool = True,
        cache_control: str | None = None,
        directory_listing: bool = False,
        *,
        directory: str | os.PathLike[str] | None = None,
        cache_max_age: int | None = None,
        precompressed: bool = True,
    ) -> None:
        if (root is None) == (directory is None):
            raise TypeError("StaticFilesConfig needs the directory to serve: give root= (or directory=), once")
        if cache_max_age is not None:
            if cache_control is not None:
                raise ValueError("give cache_control or cache_max_age, not both")
            if cache_max_age < 0:
                raise ValueError(f"cache_max_age must be 0 or more seconds, got {cache_max_age}")
            cache_control = f"public, max-age={cache_max_age}"
        self.root = os.fspath(root if root is not None else directory)  # type: ignore[arg-type]
        self.prefix = prefix
        self.index_file = index_file
        self.enable_etag = enable_etag
        self.enable_last_modified = enable_last_modified
        self.cache_control = cache_control
        self.directory_listing = directory_listing
        self.precompressed = precompressed

    def _arguments(self) -> tuple[Any, ...]:
        return (
            os.path.abspath(self.root), self.prefix, self.index_file, self.enable_etag,
            self.enable_last_modified, self.cache_control, self.directory_listing, self.precompressed,
        )

    def __repr__(self) -> str:
        return f"StaticFilesConfig(root={self.root!r}, prefix={self.prefix!r})"
