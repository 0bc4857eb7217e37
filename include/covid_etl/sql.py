"""The SQL files in ``include/sql/`` (shipped beside this package, also on MWAA), and the rendering of
the per-dataset ones from a dataset's description.

A per-dataset file names its table and columns with placeholders, filled in from
covid_etl/sources/specs.py: names, never input. ``{key}`` is the key's columns as a list; a format spec
prefixes each name (``{key:t.}`` is ``t.date, t.state``), renames it (``{values:c.=old_}`` is
``c.cases AS old_cases, ...``) or types it (``{values:old_/defs}`` is ``old_cases bigint, ...``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from covid_etl.sources.specs import Dataset

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_TYPES = {"date": "date", "text": "text", "fips": "text", "count": "bigint"}


@cache
def read_sql(name: str) -> str:
    """Return the text of ``<name>.sql``."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


class Names(tuple):
    """Column names that format themselves as a SQL list, as the format spec asks (see the module)."""

    types: dict[str, str] = {}

    def __new__(cls, names, types: dict[str, str]):
        self = super().__new__(cls, names)
        self.types = types
        return self

    def __format__(self, spec: str) -> str:
        spec, _, typed = spec.partition("/")
        if "=" in spec:
            source, target = spec.split("=")
            return ", ".join(f"{source}{name} AS {target}{name}" for name in self)
        if typed == "defs":
            return ", ".join(f"{spec}{name} {self.types[name]}" for name in self)
        return ", ".join(f"{spec}{name}" for name in self)


def column_definitions(dataset: Dataset) -> str:
    """The table's columns with their types and constraints."""
    definitions = []
    for column in dataset.columns:
        kind = _TYPES[column.kind]
        nullable = column.nullable or column.kind == "fips"
        check = f" CHECK ({column.name} >= 0)" if column.kind == "count" else ""
        definitions.append(f"{column.name} {kind}{'' if nullable else ' NOT NULL'}{check}")
    return ",\n    ".join(definitions)


def _state_at(prefix: str, *, at_next: bool, values: tuple[str, ...]) -> str:
    """A key's presence and values at the previous publication, or at the next one (``at_next``), in
    dataset_load.sql's older: the next one's change of the key ``x`` says them where there is one and the
    reference is the other neighbour; else they are the reference's (``k.r_``)."""
    taken = "NOT k.ref_is_next" if at_next else "k.ref_is_next"
    side, absent = ("new", "-") if at_next else ("old", "+")

    def case(from_change: str, from_reference: str) -> str:
        return f"CASE WHEN {taken} AND x.change IS NOT NULL THEN {from_change} ELSE {from_reference} END"

    present = case(f"x.change <> '{absent}'", "k.r_present")
    cases = [f"{present} AS {prefix}_present"]
    cases += [f"{case(f'x.{side}_{v}', f'k.r_{v}')} AS {prefix}_{v}" for v in values]
    return ",\n               ".join(cases)


def _snippets(dataset: Dataset) -> dict[str, str]:
    """The per-dataset SQL that is more than a list of names."""
    values, table = dataset.values, dataset.table
    lookup = ", ".join(dataset.lookup)
    return {
        # The changes' index ends with the date: the loader reads a key's changes by its whole key, and the
        # planner, which cannot tell that a county names its state, would pick an index of the lookup columns
        # alone and filter each area's dates (3.5 times slower, measured on the bench's backfill).
        "lookup_indexes": (
            f"CREATE INDEX IF NOT EXISTS {table}_lookup_idx ON {table} ({lookup});\n"
            f"CREATE INDEX IF NOT EXISTS {table}_changes_area_idx ON {table}_changes ({lookup}, date);\n"
        )
        if dataset.lookup
        else "",
        "null_values": ", ".join("NULL" for _ in values),
        "set_new_values": ", ".join(f"{v} = c.new_{v}" for v in values),
        "revised_values": ", ".join(f"e.old_{v}, e.new_{v}" for v in values),
        # A key's reference (dataset_load.sql): load_reference's row r where it has one, else the table's t.
        "reference_present": "CASE WHEN r.date IS NULL THEN t.date IS NOT NULL ELSE r.present END",
        "reference_values": ", ".join(f"CASE WHEN r.date IS NULL THEN t.{v} ELSE r.{v} END" for v in values),
        "reference_old_values": ", ".join(
            f"CASE WHEN r.date IS NULL THEN t.{v} ELSE r.{v} END AS old_{v}" for v in values
        ),
        # The latest change's (of the window "later", dataset_load.sql's reference): the key as the table has it.
        "latest_values": ", ".join(
            ["last_value(e.change <> '-') OVER later", *(f"last_value(e.new_{v}) OVER later" for v in values)]
        ),
        "state_at_prev": _state_at("a", at_next=False, values=values),
        "state_at_next": _state_at("c", at_next=True, values=values),
    }


def render(name: str, dataset: Dataset) -> str:
    """``<name>.sql`` with the dataset's names filled in."""
    types = {column.name: _TYPES[column.kind] for column in dataset.columns}
    return read_sql(name).format(
        **_snippets(dataset),
        dataset=dataset.name,
        table=dataset.table,
        columns=Names(dataset.column_names, types),
        key=Names(dataset.key, types),
        values=Names(dataset.values, types),
        column_definitions=column_definitions(dataset),
    )


def sections(text: str) -> dict[str, list[str]]:
    """The ``-- name: <section>`` sections of a rendered file, by name, each as its statements (a
    statement ends with a line ending in ``;``): drivers take parameters for one statement at a time."""
    found: dict[str, list[str]] = {}
    statement: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name: "):
            current = found.setdefault(line.removeprefix("-- name: ").strip(), [])
        elif found and (line.strip() and not line.lstrip().startswith("--") or statement):
            statement.append(line)
            if line.rstrip().endswith(";"):
                current.append("\n".join(statement).rstrip().removesuffix(";"))
                statement = []
    return found
