"""The real sizes of a Parquet file's pages, read from the page headers themselves.

The file's footer (its metadata) states each column chunk's uncompressed size, but nothing
makes a writer tell the truth there, and the reader never checks it: a 110 KB file whose
footer says "1 byte" held one zstd page of 1.2 GB, and decoding its first rows allocated all
of it (1.26 GiB peak; with ten such columns, ten times that). What a reader really
allocates is each *page*'s ``uncompressed_page_size``, written in the page's own header
just before its bytes. This module walks those headers (Thrift compact protocol, a few
bytes each, only the fields needed: sizes and value counts) without decompressing
anything, so a reader can refuse a file before one page is expanded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from data.errors import Problem
from data.readers.opening import Reject

#: Pages walked at most in one file, over the columns read (a 1 GiB file of 1 MiB pages
#: has about 1,000; every header costs a few microseconds of Python, so a file of millions
#: of tiny pages is refused instead).
MAX_PAGES = 200_000
#: Largest page header read (the headers carry statistics: a few hundred bytes normally).
MAX_HEADER_BYTES = 1 << 20
_NESTING = 16  # deepest struct nesting inside a page header

_PAGE_TYPE, _UNCOMPRESSED, _COMPRESSED = 1, 2, 3
_DATA_HEADER, _DICTIONARY_HEADER, _DATA_HEADER_V2 = 5, 7, 8
_DICTIONARY_PAGE = 2


@dataclass(frozen=True)
class ColumnPages:
    """What the page headers of one leaf column (over all row groups) say.

    Attributes:
        uncompressed: the bytes of all its pages once decompressed (what decoding reads).
        largest_page: its largest page, decompressed (what one read allocates at once).
        per_value: the most decoded bytes per value of any of its data pages (rounded up).
    """

    uncompressed: int
    largest_page: int
    per_value: int


class _Truncated(Exception):
    """The header runs past the bytes read so far."""


class _Compact:
    """A reader of Thrift's compact protocol over a bytes buffer (only what page headers
    use; unknown fields are skipped by type)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise _Truncated
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ValueError("a number in a page header is too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, type_: int, depth: int) -> None:
        if type_ in (1, 2):  # booleans live in the field header
            return
        if type_ == 3:
            self.byte()
        elif type_ in (4, 5, 6):
            self.varint()
        elif type_ == 7:
            self.advance(8)
        elif type_ == 8:
            self.advance(self.varint())
        elif type_ in (9, 10):
            head = self.byte()
            size = head >> 4 if head >> 4 != 15 else self.varint()
            for _ in range(size):
                self.skip_element(head & 0x0F, depth)
        elif type_ == 11:
            size = self.varint()
            kinds = self.byte() if size else 0
            for _ in range(size):
                self.skip_element(kinds >> 4, depth)
                self.skip_element(kinds & 0x0F, depth)
        elif type_ == 12:
            self.struct(depth + 1)
        else:
            raise ValueError(f"unknown Thrift type {type_} in a page header")

    def skip_element(self, type_: int, depth: int) -> None:
        if type_ in (1, 2):  # a boolean element takes a byte of its own
            self.byte()
        else:
            self.skip(type_, depth)

    def advance(self, n: int) -> None:
        if n < 0:
            raise ValueError("a negative length in a page header")
        if self.pos + n > len(self.data):
            raise _Truncated
        self.pos += n

    def struct(self, depth: int, wanted: dict[int, int] | None = None) -> dict[int, object]:
        """Read a struct; return the ``wanted`` fields (id → 0 for an integer, 12 for a
        struct, read as a dict of its integer fields)."""
        if depth > _NESTING:
            raise ValueError("a page header nested too deep")
        found: dict[int, object] = {}
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return found
            type_, delta = head & 0x0F, head >> 4
            field = last + delta if delta else self.zigzag()
            last = field
            kind = (wanted or {}).get(field)
            if kind == 0 and type_ in (4, 5, 6):
                found[field] = self.zigzag()
            elif kind == 12 and type_ == 12:
                found[field] = self.struct(depth + 1, {1: 0, 3: 0})
            else:
                self.skip(type_, depth)


def _header(f: IO[bytes], offset: int) -> tuple[dict[int, object], int]:
    """The fields of the page header at ``offset`` and the header's length in bytes."""
    size = 256
    while True:
        f.seek(offset)
        data = f.read(size)
        reader = _Compact(data)
        try:
            fields = reader.struct(
                0,
                {
                    _PAGE_TYPE: 0,
                    _UNCOMPRESSED: 0,
                    _COMPRESSED: 0,
                    _DATA_HEADER: 12,
                    _DICTIONARY_HEADER: 12,
                    _DATA_HEADER_V2: 12,
                },
            )
            return fields, reader.pos
        except _Truncated:
            if len(data) < size or size >= MAX_HEADER_BYTES:
                raise ValueError(
                    "a page header runs past the end of its column"
                    if len(data) < size
                    else f"a page header is longer than {MAX_HEADER_BYTES:,} bytes"
                ) from None
            size *= 4


def _int(fields: dict[int, object], key: int) -> int:
    value = fields.get(key)
    return value if isinstance(value, int) else 0


def column_pages(
    f: IO[bytes], chunks: list[tuple[int, int]], max_pages: int = MAX_PAGES
) -> tuple[ColumnPages, int]:
    """Walk the page headers of one leaf column's chunks.

    Args:
        f: the Parquet file, seekable.
        chunks: ``(start, length)`` of each of the column's chunks (one per row group):
            where its first page (the dictionary page, if any) begins, and its compressed
            length as the footer states it (what a reader reads of it).

        max_pages: the most pages to walk.

    Returns:
        The column's figures and the number of pages walked.

    Raises:
        ValueError: a header that cannot be read, a size below zero, or more than
            ``max_pages`` pages.
    """
    total = largest = per_value = pages = 0
    for start, length in chunks:
        pos, end = start, start + length
        while pos < end:
            pages += 1
            if pages > max_pages:
                raise ValueError(f"more than {MAX_PAGES:,} pages")
            fields, used = _header(f, pos)
            size, stored = _int(fields, _UNCOMPRESSED), _int(fields, _COMPRESSED)
            if size < 0 or stored < 0:
                raise ValueError("a page header states a size below zero")
            total += size
            largest = max(largest, size)
            if _int(fields, _PAGE_TYPE) != _DICTIONARY_PAGE:
                inner = fields.get(_DATA_HEADER) or fields.get(_DATA_HEADER_V2) or {}
                values = _int(inner, 1) if isinstance(inner, dict) else 0
                per_value = max(per_value, -(-size // max(1, values)))
            pos += used + stored
    return ColumnPages(total, largest, per_value), pages


def page_figures(f: IO[bytes], meta: object, read: list[bool]) -> list[ColumnPages | None]:
    """:func:`column_pages` of every leaf column that ``read`` marks (None for the others).

    Args:
        f: the Parquet file, seekable.
        meta: its ``pyarrow.parquet.FileMetaData``.
        read: for each leaf column, whether it will be read.

    Raises:
        Reject: a page header that cannot be read (the file is damaged or hand-made).
    """
    figures: list[ColumnPages | None] = []
    walked = 0
    try:
        for j, wanted in enumerate(read):
            if not wanted:
                figures.append(None)
                continue
            chunks = []
            for i in range(meta.num_row_groups):  # type: ignore[attr-defined]
                column = meta.row_group(i).column(j)  # type: ignore[attr-defined]
                # offsets before the 4-byte magic mean "none" (a column without data
                # pages has a data page offset of 0)
                offsets = [column.data_page_offset]
                if column.has_dictionary_page:
                    offsets.append(column.dictionary_page_offset or 0)
                starts = [o for o in offsets if o >= 4]
                if starts:
                    chunks.append((min(starts), column.total_compressed_size))
                elif column.total_compressed_size:
                    raise ValueError("a column chunk whose pages start nowhere")
            column, pages = column_pages(f, chunks, MAX_PAGES - walked)
            walked += pages
            figures.append(column)
    except (ValueError, OSError) as exc:
        raise Reject(
            Problem(f"not a readable Parquet file (its pages cannot be walked: {exc})")
        ) from None
    return figures
