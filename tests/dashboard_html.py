"""Reading the dashboard's HTML back without a browser, for the unit tests: a table's rows as the text
of their cells, a select's options."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class Option:
    value: str
    text: str
    selected: bool
    group: str | None


class _Reader(HTMLParser):
    """Collects the rows of every table (by id) and the options of every select (by name)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.row_attributes: dict[str, list[dict[str, str]]] = {}
        self.selects: dict[str, list[Option]] = {}
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None
        self._select: str | None = None
        self._group: str | None = None
        self._option: Option | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "table" and "id" in attributes:
            self._table = attributes["id"]
            self.tables[self._table], self.row_attributes[self._table] = [], []
        elif tag == "tbody" and self._table:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[self._table].append([])
            self.row_attributes[self._table].append(attributes)
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "select":
            self._select = attributes["name"]
            self.selects[self._select] = []
        elif tag == "optgroup":
            self._group = attributes["label"]
        elif tag == "option" and self._select:
            self._option = Option(attributes["value"], "", "selected" in attributes, self._group)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table, self._in_body = None, False
        elif tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "optgroup":
            self._group = None
        elif tag == "option" and self._option:
            self.selects[self._select].append(self._option)
            self._option = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._option is not None:
            self._option.text += data


def read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def table(html: str, table_id: str) -> list[list[str]]:
    """The text of each cell of each body row of the table ``table_id``."""
    return read(html).tables[table_id]


def options(html: str, name: str) -> list[Option]:
    return read(html).selects[name]
