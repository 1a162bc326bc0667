"""Applicant documents from Kaggle-shaped tables, and back: the body of `POST /score`, from training data.

:func:`tables_to_documents` turns the eight-table form (one application row per applicant, history rows
linked by ``SK_ID_CURR`` and ``SK_ID_BUREAU``) into one JSON-ready document per applicant, in the form of
:mod:`service.applicant.document`: the demo traffic, the load-test gate's applicants, the bundle's example
applicants and the parity tests all come from here. Tables are taken as they are, raw (Kaggle's ``365243``
and ``XNA`` kept, as a lender's systems would send them) or cleaned by the loader; missing values are left
out of the documents, whole-number columns become JSON integers, and each applicant's history records keep
their order in the tables.

:func:`documents_to_tables` is the inverse, so that a document can be scored in process through training's
batch feature build (``training.features.build_features``) and compared with what the service answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from service.applicant.document import HISTORY_TABLES
from service.applicant.schema import TABLES

__all__ = ["documents_for", "documents_to_tables", "tables_to_documents"]

Document = dict[str, Any]
"""One applicant document (JSON-ready)."""


def _cells(frame: pd.DataFrame, table: str) -> dict[str, list[Any]]:
    """The schema columns of ``frame`` as Python lists: None for missing, ints for whole-number columns."""
    schema = TABLES[table]
    columns: dict[str, list[Any]] = {}
    for spec in schema.columns:
        if spec.name not in frame.columns or spec.name == "TARGET":
            continue
        series = frame[spec.name]
        if spec.kind == "str":
            values = series.astype(object).where(series.notna(), None).tolist()
            columns[spec.name] = [None if v is None else str(v) for v in values]
            continue
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if spec.kind == "int":
            columns[spec.name] = [None if math.isnan(v) else int(v) for v in numbers.tolist()]
        else:
            columns[spec.name] = [None if math.isnan(v) else v for v in numbers.tolist()]
    return columns


def _records(frame: pd.DataFrame, table: str, drop: Iterable[str] = ()) -> list[Document]:
    """Every row of ``frame`` as a dict of its non-missing schema columns (``drop`` left out)."""
    cells = _cells(frame, table)
    for name in drop:
        cells.pop(name, None)
    names = list(cells)
    return (
        [
            {name: value for name, value in zip(names, row, strict=True) if value is not None}
            for row in zip(*cells.values(), strict=True)
        ]
        if names
        else [{} for _ in range(len(frame))]
    )


def _positions(keys: pd.Series | np.ndarray, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers sorted by the position of their key in ``index`` (stable), and the split points."""
    positions = index.get_indexer(np.asarray(keys))
    order = np.argsort(positions, kind="stable")
    order = order[positions[order] >= 0]
    bounds = np.searchsorted(positions[order], np.arange(len(index) + 1))
    return order, bounds


def tables_to_documents(
    tables: Mapping[str, pd.DataFrame], *, application: str = "application_train", keep_ids: bool = True
) -> list[Document]:
    """One applicant document per row of ``tables[application]``, in row order.

    History rows are attached to the applicant whose ``SK_ID_CURR`` they carry (rows of unknown applicants
    are left out), monthly ``bureau_balance`` rows to the bureau credit whose ``SK_ID_BUREAU`` they carry.
    ``keep_ids=False`` leaves the linking ids out of the history records (the nesting says it all), but
    keeps ``SK_ID_BUREAU`` and ``SK_ID_PREV``, which features count. A ``TARGET`` column is left out.
    """
    app = tables[application]
    documents = _records(app, "application_train")
    applicants = pd.Index(np.asarray(app["SK_ID_CURR"]))
    link_drop = () if keep_ids else ("SK_ID_CURR",)
    bureau = tables.get("bureau")
    if bureau is not None and len(bureau):
        credits = _records(bureau, "bureau", link_drop)
        balance = tables.get("bureau_balance")
        if balance is not None and len(balance):
            credit_index = pd.Index(np.asarray(bureau["SK_ID_BUREAU"]))
            months = _records(balance, "bureau_balance", () if keep_ids else ("SK_ID_BUREAU",))
            order, bounds = _positions(balance["SK_ID_BUREAU"], credit_index.unique())
            by_credit = {
                credit_id: [months[i] for i in order[bounds[k] : bounds[k + 1]]]
                for k, credit_id in enumerate(credit_index.unique())
                if bounds[k + 1] > bounds[k]
            }
            for credit, credit_id in zip(credits, credit_index, strict=True):
                rows = by_credit.get(credit_id)
                if rows:
                    credit["bureau_balance"] = [dict(row) for row in rows]
        _attach(documents, "bureau", credits, bureau["SK_ID_CURR"], applicants)
    for table in HISTORY_TABLES[1:]:
        frame = tables.get(table)
        if frame is not None and len(frame):
            _attach(documents, table, _records(frame, table, link_drop), frame["SK_ID_CURR"], applicants)
    return documents


def documents_for(
    tables: Mapping[str, pd.DataFrame], ids: Sequence[int], *, application: str = "application_train"
) -> list[Document]:
    """The documents of the applicants ``ids`` (SK_ID_CURR, in this order) of ``tables``.

    Only their rows are converted, so this is cheap on Kaggle-scale tables.
    """
    wanted = pd.Index(np.asarray(ids))
    app = tables[application]
    app = app[app["SK_ID_CURR"].isin(wanted)]
    app = app.iloc[wanted.get_indexer(app["SK_ID_CURR"]).argsort(kind="stable")]
    subset: dict[str, pd.DataFrame] = {application: app}
    for table in HISTORY_TABLES:
        frame = tables.get(table)
        if frame is not None:
            subset[table] = frame[frame["SK_ID_CURR"].isin(wanted)]
    balance = tables.get("bureau_balance")
    if balance is not None and "bureau" in subset:
        subset["bureau_balance"] = balance[balance["SK_ID_BUREAU"].isin(subset["bureau"]["SK_ID_BUREAU"])]
    return tables_to_documents(subset, application=application, keep_ids=False)


def _attach(
    documents: list[Document],
    table: str,
    records: list[Document],
    keys: pd.Series,
    applicants: pd.Index,
) -> None:
    order, bounds = _positions(keys, applicants)
    for k, document in enumerate(documents):
        if bounds[k + 1] > bounds[k]:
            document[table] = [records[i] for i in order[bounds[k] : bounds[k + 1]]]


def documents_to_tables(documents: Sequence[Document], *, first_id: int = 1) -> dict[str, pd.DataFrame]:
    """Kaggle-shaped raw tables holding ``documents`` (``application`` plus each non-empty history table).

    An applicant without ``SK_ID_CURR`` gets ``first_id + its position``; a bureau credit without
    ``SK_ID_BUREAU`` gets a fresh id, so its monthly rows stay linked to it. Columns a document leaves out
    are missing; the tables hold every schema column in Kaggle order. Clean them with
    ``training.loader.clean_table`` before building features.
    """
    rows: dict[str, list[dict[str, Any]]] = {"application_test": []}
    rows.update({table: [] for table in (*HISTORY_TABLES, "bureau_balance")})
    used = {doc["SK_ID_BUREAU"] for d in documents for doc in d.get("bureau", []) if "SK_ID_BUREAU" in doc}
    next_credit = max(used, default=0) + 1
    for position, document in enumerate(documents):
        applicant_id = document.get("SK_ID_CURR", first_id + position)
        record = {k: v for k, v in document.items() if k not in HISTORY_TABLES}
        record["SK_ID_CURR"] = applicant_id
        rows["application_test"].append(record)
        for table in HISTORY_TABLES:
            for item in document.get(table, []):
                item = dict(item)
                item["SK_ID_CURR"] = applicant_id
                if table == "bureau":
                    months = item.pop("bureau_balance", [])
                    if "SK_ID_BUREAU" not in item:
                        item["SK_ID_BUREAU"] = next_credit
                        next_credit += 1
                    rows["bureau_balance"].extend({**m, "SK_ID_BUREAU": item["SK_ID_BUREAU"]} for m in months)
                rows[table].append(item)
    out: dict[str, pd.DataFrame] = {}
    for table, records in rows.items():
        if table != "application_test" and not records:
            continue
        columns = TABLES[table].column_names
        out["application" if table == "application_test" else table] = pd.DataFrame.from_records(
            records, columns=columns
        )
    return out
