"""The decision store's schema: a store created by an earlier version gains the columns added since, on
SQLite and on a real PostgreSQL, keeping its rows; one lacking a required column is refused clearly."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Double, MetaData, String, Table, insert, inspect, select

from monitoring import store_schema as schema


def _old_models_table(metadata: MetaData, *, with_threshold: bool = True) -> Table:
    """The ``models`` table as the first version of the store created it (no ``holdout_accepted_auc``)."""
    columns = [Column("model_tag", String(schema.MODEL_TAG_LENGTH), primary_key=True)]
    if with_threshold:
        columns.append(Column("threshold", Double(), nullable=False))
    for name in ("cost_false_negative", "cost_false_positive", "cost_true_positive", "cost_true_negative"):
        columns.append(Column(name, Double(), nullable=False))
    columns.append(Column("holdout_auc", Double(), nullable=True))
    return Table("models", metadata, *columns)


def test_an_earlier_store_gains_the_new_nullable_column_and_keeps_its_rows(store_url: str) -> None:
    engine = schema.open_engine(store_url)
    old = MetaData()
    table = _old_models_table(old)
    old.create_all(engine)
    costs = {"cost_false_negative": 20.0, "cost_false_positive": 2.0, "cost_true_positive": 1.0}
    with engine.begin() as connection:
        connection.execute(
            insert(table), [{"model_tag": "m:v1", "threshold": 0.3, **costs, "cost_true_negative": 1.0}]
        )
    schema.ensure_schema(engine)
    schema.ensure_schema(engine)  # every start calls it: the second time changes nothing
    assert "holdout_accepted_auc" in {c["name"] for c in inspect(engine).get_columns("models")}
    with engine.begin() as connection:
        (row,) = connection.execute(select(schema.models)).mappings()
        assert row["model_tag"] == "m:v1" and row["threshold"] == 0.3 and row["holdout_accepted_auc"] is None
        connection.execute(
            schema.models.update()
            .values(holdout_accepted_auc=0.64)
            .where(schema.models.c.model_tag == "m:v1")
        )
        assert connection.scalar(select(schema.models.c.holdout_accepted_auc)) == 0.64
    engine.dispose()


def test_a_store_lacking_a_required_column_is_refused_with_a_clear_error(store_url: str) -> None:
    engine = schema.open_engine(store_url)
    old = MetaData()
    _old_models_table(old, with_threshold=False)
    old.create_all(engine)
    with pytest.raises(RuntimeError, match="lacks the required column threshold"):
        schema.ensure_schema(engine)
    engine.dispose()
