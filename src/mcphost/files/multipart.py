"""Reading the ``file`` part of a multipart/form-data body as it arrives, without spooling it anywhere first
(Starlette's ``request.form()`` would copy it to a temporary file before the endpoint sees a byte)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header

from mcphost.errors import ValidationFailed

FIELD = "file"


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ValidationFailed(
            "Upload with a multipart/form-data body (a 'file' field) to a directory's path, or PUT the raw bytes "
            "to the file's path.",
            code="invalid_upload",
        )
    return boundary


class MultipartFile:
    """The first part named ``file`` that carries a filename: ``filename()`` reads until its headers are through,
    ``chunks()`` then yields its bytes as they come."""

    def __init__(self, content_type: str, stream: AsyncIterator[bytes]) -> None:
        self._stream = stream
        self._events: list[tuple[str, bytes]] = []
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False
        self._done = False
        self._filename: str | None = None
        self._parser = MultipartParser(
            boundary_of(content_type),
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": lambda data, start, end: self._add("field", data[start:end]),
                "on_header_value": lambda data, start, end: self._add("value", data[start:end]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": lambda data, start, end: self._data(data[start:end]),
                "on_part_end": self._part_end,
            },
        )

    def _add(self, kind: str, data: bytes) -> None:
        if kind == "field":
            self._header_field += data
        else:
            self._header_value += data

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        if self._filename is not None:
            return
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == FIELD.encode() and b"filename" in options:
            self._filename = options[b"filename"].decode("utf-8", "replace")
            self._in_file = True

    def _data(self, data: bytes) -> None:
        if self._in_file and data:
            self._events.append(("data", bytes(data)))

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file = False
            self._done = True

    async def _feed(self) -> bool:
        """Feed the parser one more chunk of the body; False at its end."""
        try:
            chunk = await anext(self._stream)
        except StopAsyncIteration:
            return False
        if chunk:
            try:
                self._parser.write(chunk)
            except Exception as exc:  # python-multipart raises its own parse errors
                raise ValidationFailed(f"The multipart body is malformed: {exc}", code="invalid_upload") from exc
        return True

    async def filename(self) -> str:
        while self._filename is None:
            if not await self._feed():
                raise ValidationFailed(
                    f"The multipart body has no '{FIELD}' field with a filename.", code="invalid_upload"
                )
        return self._filename

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            while self._events:
                yield self._events.pop(0)[1]
            if self._done:
                return
            if not await self._feed():
                raise ValidationFailed("The multipart body ended in the middle of the file.", code="invalid_upload")
