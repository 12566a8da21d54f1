"""Request bodies read after the handler started: streams, forms and uploaded files.

``async for chunk in request.stream()`` reads a body as it arrives;
``await request.form()`` parses urlencoded and multipart forms (in Rust, streaming,
with limits from `ServerConfig`); ``await request.files()`` lists the uploaded files.
Files larger than ``ServerConfig.spool_threshold`` are written to a temporary file, so
a large upload does not sit in the worker's memory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from cello import _cello
from cello.config import ServerConfig

__all__ = ["FormData", "UploadFile"]


class UploadFile:
    """An uploaded file.

    Attributes:
        filename: the client's file name without any directory part ("" if none).
        content_type: the type the client declared.
        sniffed_type: the type the file's first bytes reveal (PNG, JPEG, GIF, PDF,
            ZIP, GZIP, WEBP), or ``None``; compare it with `content_type` before
            trusting the declared type.
        size: bytes.
    """

    def __init__(
        self,
        field: str,
        filename: str,
        content_type: str | None,
        sniffed_type: str | None,
        size: int,
        data: bytes | None,
        path: str | None,
    ) -> None:
        self.field = field
        self.filename = filename
        self.content_type = content_type
        self.sniffed_type = sniffed_type
        self.size = size
        self._data = data
        self._path = path
        self._position = 0
        if path is not None:
            self._finalizer = weakref.finalize(self, _remove, path)

    @property
    def in_memory(self) -> bool:
        """Whether the content is in memory (small files) rather than on disk."""
        return self._data is not None

    @property
    def content_type_matches(self) -> bool:
        """False when sniffing recognised the content and it contradicts the
        declared type (an executable declared as ``image/png``, say)."""
        if self.sniffed_type is None or self.content_type is None:
            return True
        return self.content_type.split(";")[0].strip().lower() == self.sniffed_type

    async def read(self, size: int = -1) -> bytes:
        """Reads `size` bytes (all by default) from the current position."""
        if self._data is not None:
            end = len(self._data) if size < 0 else self._position + size
            chunk = self._data[self._position : end]
        else:
            assert self._path is not None
            chunk = await asyncio.get_running_loop().run_in_executor(
                None, _read_at, self._path, self._position, size
            )
        self._position += len(chunk)
        return chunk

    async def seek(self, offset: int) -> None:
        """Moves the read position."""
        self._position = offset

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the file to `path` (a move when it was spooled to disk)."""
        if self._data is not None:
            with open(path, "wb") as out:
                out.write(self._data)
            return
        assert self._path is not None
        shutil.copyfile(self._path, path)

    def close(self) -> None:
        """Deletes the temporary file now rather than when this object is collected."""
        if self._path is not None:
            self._finalizer()
        self._data = None

    def __repr__(self) -> str:
        return f"UploadFile(filename={self.filename!r}, content_type={self.content_type!r}, size={self.size})"


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _read_at(path: str, position: int, size: int) -> bytes:
    with open(path, "rb") as source:
        source.seek(position)
        return source.read() if size < 0 else source.read(size)


class FormData:
    """Form fields and files: ``form["name"]``, ``form.get("name")``,
    ``form.getlist("tag")``; files appear as `UploadFile` values."""

    def __init__(self, items: list[tuple[str, Any]]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        for name, value in reversed(self._items):
            if name == key:
                return value
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def getlist(self, key: str) -> list[Any]:
        return [value for name, value in self._items if name == key]

    def __contains__(self, key: object) -> bool:
        return any(name == key for name, _ in self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(name for name, _ in self._items))

    def keys(self) -> list[str]:
        return list(self)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._items)

    multi_items = items

    @property
    def files(self) -> list[UploadFile]:
        """Every uploaded file, in order."""
        return [value for _, value in self._items if isinstance(value, UploadFile)]

    def close(self) -> None:
        """Deletes the temporary files of the uploads."""
        for upload in self.files:
            upload.close()

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"


def _config(request: Any) -> ServerConfig:
    app = request.app
    config = getattr(app, "_server_config", None)
    return config if isinstance(config, ServerConfig) else ServerConfig()


def _driver() -> _cello.Driver:
    loop = asyncio.get_running_loop()
    driver = getattr(loop, "driver", None)
    if driver is None:
        raise RuntimeError("request bodies can only be read on the Cello event loop serving the request")
    return driver  # type: ignore[no-any-return]


async def _read_form(request: Any) -> FormData:
    cached = getattr(request.state, "_cello_form", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    config = _config(request)
    future: asyncio.Future[list[tuple[Any, ...]]] = asyncio.get_running_loop().create_future()
    _cello.read_form(
        request,
        _driver(),
        future,
        config.max_form_fields,
        config.max_form_files,
        config.max_field_size,
        config.max_file_size if config.max_file_size is not None else config.max_body_size,
        config.spool_threshold,
        config.upload_dir,
    )
    items: list[tuple[str, Any]] = []
    for part in await future:
        if part[0] == "field":
            items.append((part[1], part[2]))
        else:
            _, field, filename, content_type, sniffed, size, data, path = part
            items.append((field, UploadFile(field, filename, content_type, sniffed, size, data, path)))
    form = FormData(items)
    request.state._cello_form = form
    return form


def read_form(request: Any) -> Any:
    """``await request.form()``."""
    return _read_form(request)


async def _read_files(request: Any) -> list[UploadFile]:
    return (await _read_form(request)).files


def read_files(request: Any) -> Any:
    """``await request.files()``."""
    return _read_files(request)


async def _chunks(request: Any) -> AsyncIterator[bytes]:
    driver = _driver()
    loop = asyncio.get_running_loop()
    while True:
        future: asyncio.Future[bytes | None] = loop.create_future()
        _cello.read_chunk(request, driver, future)
        chunk = await future
        if chunk is None:
            return
        yield chunk


def stream_body(request: Any) -> AsyncIterator[bytes]:
    """``async for chunk in request.stream()``."""
    return _chunks(request)
