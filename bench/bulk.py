"""Bulk loading for the benchmark generators, on PostgreSQL and SQLite.

A generator builds rows as tuples, in the column order of a ``columns`` mapping
(table -> column names), and hands them to a sink: ``PostgresSink`` streams them
with ``COPY … FROM STDIN`` (psycopg 3), ``SqliteSink`` inserts them with
``executemany``. On PostgreSQL, ``pg_strip`` drops the secondary indexes, unique
and foreign-key constraints of the tables being loaded and ``pg_restore``
recreates them from the definitions it read; ``pg_reset_sequences`` moves the id
sequences past the explicit ids written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Row = tuple[Any, ...]
Columns = Mapping[str, Sequence[str]]


class Sink:
    """Where generated rows go; one implementation per database vendor."""

    def __init__(self, raw: Any, columns: Columns) -> None:
        self.raw = raw
        self.columns = columns

    def write(self, table: str, rows: Sequence[Row]) -> None:
        raise NotImplementedError

    @staticmethod
    def stamp(value: datetime) -> str:
        raise NotImplementedError


class PostgresSink(Sink):
    def write(self, table: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        columns = ", ".join(f'"{c}"' for c in self.columns[table])
        with (
            self.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    @staticmethod
    def stamp(value: datetime) -> str:
        return value.isoformat(sep=" ")


class SqliteSink(Sink):
    def write(self, table: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        columns = self.columns[table]
        marks = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    @staticmethod
    def stamp(value: datetime) -> str:
        # Django's SQLite backend stores aware datetimes as naive UTC text.
        return value.replace(tzinfo=None).isoformat(sep=" ")


# --------------------------------------------------------------------------
# PostgreSQL: drop the secondary indexes and constraints for the load


@dataclass
class Schema:
    """Indexes and constraints dropped before a COPY and recreated after it."""

    indexes: list[str] = field(default_factory=list)  # CREATE INDEX statements
    uniques: list[tuple[str, str, str]] = field(default_factory=list)  # table, name, def
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)


def pg_strip(raw: Any, tables: Iterable[str]) -> Schema:
    """Drop the secondary indexes, unique and foreign-key constraints of *tables*."""
    schema = Schema()
    tables = list(tables)
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') "
            "ORDER BY conrelid::regclass::text, conname",
            [tables],
        )
        for table, name, contype, definition in cursor.fetchall():
            target = schema.foreign_keys if contype == "f" else schema.uniques
            target.append((table, name, definition))
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) "
            "ORDER BY 1",
            [tables],
        )
        drops = []
        for name, definition in cursor.fetchall():
            schema.indexes.append(definition)
            drops.append(name)
        for table, name, _ in schema.foreign_keys + schema.uniques:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name in drops:
            cursor.execute(f"DROP INDEX {name}")
    return schema


def pg_restore(raw: Any, schema: Schema) -> None:
    with raw.cursor() as cursor:
        for statement in schema.indexes:
            cursor.execute(statement)
        for table, name, definition in schema.uniques + schema.foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def pg_reset_sequences(raw: Any, tables: Iterable[str]) -> None:
    with raw.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
            )


# --------------------------------------------------------------------------
# SQLite: empty tables the way PostgreSQL's TRUNCATE … CASCADE does


def sqlite_truncate_cascade(raw: Any, tables: Iterable[str]) -> list[str]:
    """Delete every row of *tables* and of every table that references them,
    directly or not; returns the tables emptied, dependents first.

    Django declares SQLite foreign keys deferred, so rows left pointing at the
    deleted ones (a case's partner, say) would fail the commit.
    """
    names = [
        row[0]
        for row in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    ]
    referenced_by: dict[str, set[str]] = {}
    for name in names:
        for fk in raw.execute(f'PRAGMA foreign_key_list("{name}")').fetchall():
            referenced_by.setdefault(fk[2], set()).add(name)
    order: list[str] = []

    def visit(table: str) -> None:
        if table in order:
            return
        order.append(table)
        for dependent in sorted(referenced_by.get(table, ())):
            visit(dependent)

    for table in tables:
        visit(table)
    emptied = list(reversed(order))
    for table in emptied:
        raw.execute(f'DELETE FROM "{table}"')
    return emptied
