"""The schema's migrations: the archiver's branch and the evidence branch build what the ORM
models describe, on SQLite and PostgreSQL, and a database made before the branches existed
(one chain that created every table) is upgraded to the same tables without losing a row."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select

from archiver import plugins
from archiver.db import make_engine, stored_revisions, upgrade
from archiver.models import Base
from archiver.readdb import VERSION_DIRS, script_heads
from tests.conftest import PG_URL, _drop_pg_database, _fresh_pg_database

BEFORE_BRANCHES = Path(__file__).parent / "data" / "schema_before_branches"
ARCHIVER_VERSIONS = VERSION_DIRS[0]


def schema_of(engine) -> dict:
    """Every table's columns (name, type, nullable, in order), primary key, foreign keys and indexes."""
    found = {}
    inspector = inspect(engine)
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        found[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                                   for f in inspector.get_foreign_keys(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
        }
    return found


def build_before_branches(engine, revision: str) -> None:
    """The database an older version made: its single chain of migrations, up to `revision`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(BEFORE_BRANCHES))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, revision)


NOW = datetime(2026, 11, 30, 8, 0)


def fill(engine) -> None:
    """One row or more in each table, the evidence tables included (with Chinese text)."""
    tables = MetaData()
    tables.reflect(engine)
    rows = {
        "blobs": [{"sha256": "a" * 64, "size": 3, "codec": "none", "data": b"abc", "created_at": NOW}],
        "runs": [{"id": 1, "started_at": NOW, "status": "finished", "counts": {"captured": 1}}],
        "sources": [{"id": 1, "url": "http://example.com/新闻", "added_at": NOW, "state": "ok",
                     "next_due_at": NOW, "capture_count": 1, "title": "新闻"},
                    {"id": 2, "url": "http://example.com/b", "added_at": NOW, "state": "deleted",
                     "next_due_at": NOW, "capture_count": 0}],
        "captures": [{"id": 1, "source_id": 1, "run_id": 1, "origin": "live", "requested_url": "http://example.com/新闻",
                      "started_at": NOW, "not_modified": False, "body_sha256": "a" * 64, "verdict": "ok"}],
        "claims": [{"id": "cameras", "text": "摄像头在新疆出售 Cameras were sold", "tags": ["a"], "created_at": NOW,
                    "updated_at": NOW}],
        "datapoints": [{"id": "dp1", "entity": "Hikvision", "claim_id": "cameras", "created_at": NOW, "updated_at": NOW}],
        "citations": [{"id": 1, "claim_id": "cameras", "source_id": 1, "quote": "摄像头", "accessed": "2019年5月3日",
                       "created_at": NOW},
                      {"id": 2, "datapoint_id": "dp1", "source_id": 2, "created_at": NOW}],
        "quote_checks": [{"id": 1, "citation_id": 1, "capture_id": 1, "status": "present", "score": 100.0,
                          "checked_at": NOW}],
        "wayback_jobs": [{"id": 1, "source_id": 1, "capture_id": 1, "url": "http://example.com/新闻", "status": "pending",
                          "attempts": 0, "next_attempt_at": NOW, "created_at": NOW, "updated_at": NOW}],
    }
    with engine.begin() as conn:
        for name, table_rows in rows.items():
            for row in table_rows:
                conn.execute(tables.tables[name].insert().values(**row))


def contents(engine) -> dict[str, list[dict]]:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return {name: [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for name, table in tables.tables.items() if name != "alembic_version"}


def schema_of_a_new_database(db_url: str, tmp_path) -> dict:
    """The schema the migrations give a new database of the same kind as `db_url`."""
    if db_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
        upgrade(engine)
        try:
            return schema_of(engine)
        finally:
            engine.dispose()
    url, admin, name = _fresh_pg_database(PG_URL)
    engine = make_engine(url)
    try:
        upgrade(engine)
        return schema_of(engine)
    finally:
        engine.dispose()
        _drop_pg_database(admin, name)


@pytest.mark.parametrize("revision", ["0001", "0008"])
def test_a_database_made_before_the_branches_upgrades_without_losing_a_row(db_url, tmp_path, revision):
    """0008 was the newest revision before the split; 0001 a database that had not been opened
    since the first release. Both end with the tables a new database gets, and every row."""
    engine = make_engine(db_url)
    build_before_branches(engine, revision)
    assert stored_revisions(engine) == {revision}
    fill(engine)
    before = contents(engine)
    upgrade(engine)
    assert stored_revisions(engine) == script_heads() and "e0001" in script_heads()
    after = contents(engine)
    for table, rows in before.items():
        assert [{k: row[k] for k in old} for row, old in zip(after[table], rows)] == rows, table
        assert len(after[table]) == len(rows), table
    assert after["quote_checks"][0]["closest"] is None
    if engine.dialect.name == "sqlite":  # off while the tables were rebuilt, on again for what follows
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    assert schema_of(engine) == schema_of_a_new_database(db_url, tmp_path)
    engine.dispose()


def modelled(obj, name, type_, reflected, compare_to) -> bool:
    """Everything but the full-text index's tables (archiver.search: written with plain SQL, an
    FTS5 table and its shadow tables, no ORM model)."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table or "").startswith("search_")


def test_models_match_the_migrations(db_url):
    """Alembic's autogenerate finds nothing to do between the ORM models (the archiver's and the
    plugins') and a database built by every branch's migrations."""
    plugins.register_models()
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": modelled})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_the_archiver_migrations_never_name_the_evidence_tables():
    plugins.register_models()
    evidence = {"claims", "datapoints", "citations", "quote_checks"}
    assert evidence <= set(Base.metadata.tables)
    for path in sorted(ARCHIVER_VERSIONS.glob("*.py")):
        strings = {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        named = {s for s in strings if s in evidence} | {t for t in evidence for s in strings if f" {t} " in f" {s} "}
        assert not named, (path.name, named)
