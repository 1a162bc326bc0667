"""The tables of the decision store and how to open it: SQLAlchemy Core, one URL for SQLite or PostgreSQL.

Three tables (times are UTC, stored without a zone so that SQLite and PostgreSQL read back the same value):

- ``decisions``: one row per scored applicant the sidecar ingested, keyed on the payload record's
  ``request_id`` (unique per applicant record), so a record read again after a crash is stored once;
- ``models``: per model tag, what the performance job needs of its bundle (threshold, cost weights, holdout
  AUC), written by the sidecar when it first stores a decision of that tag;
- ``outcomes``: per applicant id or request id, whether the loan defaulted and when that was observed.

No SQL dialect is written by hand: inserts that skip existing keys use each dialect's own ``insert ... on
conflict do nothing`` construct (:func:`insert_ignoring_duplicates`), and a column added by a later version
to an existing store is added with ``ALTER TABLE ... ADD COLUMN`` (standard SQL, identical in both) and a
column definition the dialect compiles (:func:`ensure_schema`).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    Connection,
    DateTime,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    inspect,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.dml import Insert

REQUEST_ID_LENGTH = 128
"""Longest request id stored (the service's are ``<writer prefix>-<hex counter>``, far shorter)."""
MODEL_TAG_LENGTH = 128
"""Longest model tag stored (``credit_scorer:<version>``)."""
SUBJECT_ID_LENGTH = 256
"""Longest applicant (caller) id stored; a longer one is refused when outcomes are loaded."""
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5
"""A PostgreSQL server that does not answer within this time counts as down (the write is retried later)."""
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
"""How long a SQLite writer waits for another process's write lock (the sidecar and a loader share a file)."""

metadata = MetaData()
"""The decision store's tables."""

decisions = Table(
    "decisions",
    metadata,
    Column("request_id", String(REQUEST_ID_LENGTH), primary_key=True),
    Column("caller_id", String(SUBJECT_ID_LENGTH), nullable=True, index=True),
    Column("model_tag", String(MODEL_TAG_LENGTH), nullable=False),
    Column("scored_at", DateTime(), nullable=False),
    Column("decision_month", String(7), nullable=False),
    Column("probability", Double(), nullable=False),
    Column("refused", Boolean(), nullable=False),
    Column("score_band", Integer(), nullable=True),
    Index("ix_decisions_model_month", "model_tag", "decision_month"),
)
"""Every ingested decision: ``decision_month`` is ``YYYY-MM`` of ``scored_at`` (UTC); ``score_band`` is the
band of the bundle's stability score bands (0 = lowest probabilities), null for a bundle without bands."""

models = Table(
    "models",
    metadata,
    Column("model_tag", String(MODEL_TAG_LENGTH), primary_key=True),
    Column("threshold", Double(), nullable=False),
    Column("cost_false_negative", Double(), nullable=False),
    Column("cost_false_positive", Double(), nullable=False),
    Column("cost_true_positive", Double(), nullable=False),
    Column("cost_true_negative", Double(), nullable=False),
    Column("holdout_auc", Double(), nullable=True),
    Column("holdout_accepted_auc", Double(), nullable=True),
)
"""The served threshold, cost weights and holdout AUC of each model tag that has stored decisions;
``holdout_accepted_auc`` is the holdout AUC on the applicants the threshold accepts, the baseline of a
realized AUC (which only accepted applicants can have); null when the bundle cannot give it."""

outcomes = Table(
    "outcomes",
    metadata,
    Column("id_kind", String(16), primary_key=True),
    Column("subject_id", String(SUBJECT_ID_LENGTH), primary_key=True),
    Column("defaulted", Boolean(), nullable=False),
    Column("observed_at", DateTime(), nullable=False),
    Column("loaded_at", DateTime(), nullable=False),
)
"""Outcomes as loaded: ``id_kind`` is ``request`` (``subject_id`` is a request id) or ``applicant`` (a
caller id); they are joined to decisions when performance is computed, so an outcome may arrive first."""


def open_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite (its folder created, WAL journal, waits for locks) or PostgreSQL
    (through psycopg 3 whatever driver the URL names, with a connect timeout); others as SQLAlchemy opens
    them."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _sqlite_wal)
        return engine
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed,
            pool_pre_ping=True,
            connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS},
        )
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_wal(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def ensure_schema(bind: Engine | Connection) -> None:
    """Create the tables that do not exist yet and add the nullable columns a store created by an earlier
    version lacks (safe to call from every process, every start)."""
    metadata.create_all(bind, checkfirst=True)
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as connection:
        _add_missing_columns(connection)
        if isinstance(bind, Engine):
            connection.commit()


def _add_missing_columns(connection: Connection) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for every nullable column of :data:`metadata` an existing table lacks.

    The column's definition is compiled by the connection's dialect; PostgreSQL skips a column another
    process added meanwhile (``IF NOT EXISTS``); on SQLite the database lock orders concurrent writers, and
    a writer that loses the race fails its transaction, which the sidecar retries."""
    inspector = inspect(connection)
    preparer = connection.dialect.identifier_preparer
    if_not_exists = "IF NOT EXISTS " if connection.dialect.name == "postgresql" else ""
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise RuntimeError(
                    f"the decision store's table {table.name} lacks the required column {column.name}: "
                    "it was created by an incompatible version; point the store at a new database"
                )
            definition = CreateColumn(column).compile(dialect=connection.dialect)
            connection.execute(
                DDL(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {if_not_exists}{definition}")
            )


def insert_ignoring_duplicates(engine: Engine, table: Table) -> Insert:
    """``INSERT`` into ``table`` that skips rows whose primary key is already stored (engine's dialect)."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise ValueError(f"the decision store supports SQLite and PostgreSQL, not {dialect}")


def safe_url(url: str) -> str:
    """``url`` with its password masked, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)
