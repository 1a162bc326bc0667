"""Read a directory of Home Credit CSVs (Kaggle's or the generator's), check them, clean them.

``load_tables`` is the entry point: it reads each file with pyarrow (multi-threaded, text columns straight
into dictionary-encoded categories, so the 27M-row ``bureau_balance`` fits comfortably in memory), checks the
columns and their kinds against :mod:`service.applicant.schema`, and applies :func:`clean_table`:

* every ``DAYS_*`` value equal to ``SENTINEL_DAYS`` (365243, Kaggle's "no date") becomes NaN, which turns the
  column into float64 (``DAYS_EMPLOYED`` of pensioners, the five due-date columns of previous applications);
* ``"XNA"`` in a text column becomes NaN; ``"XAP"`` ("not applicable") stays a category;
* text columns become pandas ``category`` columns whose categories are the schema's known labels (in schema
  order) followed by any label the schema does not know (sorted), so that dtypes agree across files and runs;
* numeric columns are int64 (no missing value) or float64.

Problems are reported as :class:`SchemaError`, naming the file, the column, what was expected and what was
found.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from service.applicant.schema import (
    MISSING_LABEL,
    REQUIRED_TABLES,
    SENTINEL_DAYS,
    SENTINEL_DAYS_COLUMNS,
    TABLES,
    TableSchema,
)

__all__ = [
    "OPTIONAL_TABLES",
    "SchemaError",
    "clean_table",
    "describe_tables",
    "load_tables",
    "read_table",
    "table_path",
    "validate_table",
]

OPTIONAL_TABLES: tuple[str, ...] = ("application_test",)
"""Tables whose file may be absent from a data directory (then absent from the result, without error)."""

_ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.dictionary(pa.int32(), pa.string()),
}
_CONVERSION_ERROR = re.compile(
    r"In CSV column #(\d+): .*?CSV conversion error to (\w+): invalid value '(.*)'", re.S
)
_KIND_WORDS = {"int": "whole numbers (int)", "float": "numbers (float)", "str": "text"}
_MAX_EXAMPLES = 3


class SchemaError(ValueError):
    """A table does not match the Kaggle schema (missing file or column, unexpected column, wrong kind)."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"{source}: {self.problems[0]}"
        else:
            listed = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{source}: {len(self.problems)} schema problems:\n{listed}"
        super().__init__(message)


def _schema(name: str) -> TableSchema:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


def table_path(directory: str | Path, name: str) -> Path:
    """Where table ``name`` lives in ``directory``: ``<file_name>`` or, failing that, ``<file_name>.gz``."""
    plain = Path(directory) / _schema(name).file_name
    gz = plain.with_name(plain.name + ".gz")
    return gz if not plain.exists() and gz.exists() else plain


# ------------------------------------------------------------------------------------------ validation


def _examples(values: Iterable[object]) -> str:
    shown = [repr(v.item() if isinstance(v, np.generic) else v) for v in list(values)[:_MAX_EXAMPLES]]
    return ", ".join(shown)


def _column_problems(schema: TableSchema, columns: list[str]) -> list[str]:
    problems = []
    expected = schema.column_names
    present = set(columns)
    missing = [c for c in expected if c not in present]
    unexpected = [c for c in columns if c not in schema]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)} (Kaggle has {len(expected)} columns)")
    if unexpected:
        problems.append(f"unexpected column(s) {', '.join(unexpected)} (not in Kaggle's {schema.name})")
    if duplicated:
        problems.append(f"duplicated column(s) {', '.join(duplicated)}")
    return problems


def _kind_problem(schema: TableSchema, column: str, series: pd.Series) -> str | None:
    """What is wrong with the values of one column, or None."""
    kind = schema.column(column).kind
    dtype = series.dtype
    categorical = isinstance(dtype, pd.CategoricalDtype)
    numeric_dtype = not categorical and (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    )
    if kind == "str":
        if numeric_dtype:
            non_null = series.dropna()
            if not non_null.empty:
                examples = _examples(non_null.unique())
                return f"column {column}: expected text, found {dtype} values such as {examples}"
        return None
    if numeric_dtype:
        if kind == "int" and pd.api.types.is_float_dtype(dtype):
            values = series.to_numpy(dtype=np.float64)
            return _fractional_problem(column, values[np.isfinite(values)])
        return None
    # text (object, string or category) where numbers are expected
    non_null = series.dropna()
    if non_null.empty:
        return None
    converted = pd.to_numeric(non_null.astype("object"), errors="coerce")
    bad = non_null[converted.isna().to_numpy()]
    if not bad.empty:
        return (
            f"column {column}: expected {_KIND_WORDS[kind]}, found text such as {_examples(bad.unique())}"
            f" ({len(bad)} value(s))"
        )
    if kind == "int":
        return _fractional_problem(column, converted.to_numpy(dtype=np.float64))
    return None


def _fractional_problem(column: str, values: np.ndarray) -> str | None:
    """The problem of an int column holding non-whole ``values``, or None when every value is whole."""
    fractional = values[values != np.round(values)]
    if not fractional.size:
        return None
    return (
        f"column {column}: expected {_KIND_WORDS['int']}, found fractional values such as "
        f"{_examples(np.unique(fractional))}"
    )


def validate_table(name: str, df: pd.DataFrame, *, source: str | None = None) -> None:
    """Check ``df`` against the schema of table ``name``; raise :class:`SchemaError` listing every problem.

    Columns may come in any order. A missing, unexpected or duplicated column is a problem, and so is a value
    of the wrong kind: text in a numeric column, a number in a text column, a fractional number in an integer
    column. Integers in a float column, or floats holding whole numbers in an int column, are accepted.

    Args:
        name: table name, a key of ``service.applicant.schema.TABLES``.
        df: the table, raw (as in the CSV) or cleaned.
        source: how to name the table in messages; defaults to its Kaggle file name.
    """
    schema = _schema(name)
    columns = [str(c) for c in df.columns]
    problems = _column_problems(schema, columns)
    if not any(p.startswith("duplicated") for p in problems):
        for column in columns:
            if column in schema:
                problem = _kind_problem(schema, column, df[column])
                if problem:
                    problems.append(problem)
    if problems:
        raise SchemaError(source or schema.file_name, problems)


# -------------------------------------------------------------------------------------------- cleaning


def _clean_text(series: pd.Series, known: tuple[str, ...]) -> pd.Series:
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("object").where(series.notna(), None).astype("category")
    categories = series.cat.categories
    if not pd.api.types.is_string_dtype(categories) and len(categories):
        series = series.cat.rename_categories([str(c) for c in categories])
        categories = series.cat.categories
    if MISSING_LABEL in categories:
        series = series.cat.remove_categories([MISSING_LABEL])
        categories = series.cat.categories
    known_set = set(known)
    extras = sorted(c for c in categories if c not in known_set)
    wanted = [*known, *extras]
    if list(categories) != wanted:
        series = series.cat.set_categories(wanted)
    return series


def _clean_numeric(series: pd.Series, kind: str, is_days: bool) -> pd.Series:
    if not pd.api.types.is_numeric_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype):
        series = pd.to_numeric(series.astype("object"), errors="raise")
    if is_days:
        sentinel = series.to_numpy() == SENTINEL_DAYS
        if sentinel.any():
            series = series.astype(np.float64).mask(sentinel)
    if kind == "int" and not series.hasnans:
        values = series.to_numpy()
        if values.dtype != np.int64 and (values.size == 0 or np.array_equal(values, np.round(values))):
            return series.astype(np.int64)
        return series
    if series.dtype != np.float64:
        series = series.astype(np.float64)
    return series


def clean_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Kaggle quirks handled on an in-memory table (a new frame; ``df`` is left alone).

    Applies to the schema's columns that ``df`` holds (others are passed through untouched, column order is
    kept): DAYS_* sentinel 365243 to NaN, ``"XNA"`` to NaN, text columns to ``category`` with the schema's
    known labels first, numeric columns to int64 when complete and whole, float64 otherwise. Idempotent.
    """
    schema = _schema(name)
    days = set(SENTINEL_DAYS_COLUMNS[name])
    out = {}
    for column in df.columns:
        series = df[column]
        if column not in schema:
            out[column] = series
            continue
        spec = schema.column(column)
        if spec.kind == "str":
            out[column] = _clean_text(series, spec.categories)
        else:
            out[column] = _clean_numeric(series, spec.kind, column in days)
    return pd.DataFrame(out, index=df.index)


# --------------------------------------------------------------------------------------------- reading


def _read_header(path: Path) -> list[str]:
    try:
        reader = pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(block_size=1 << 16))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(str(path), [f"cannot read the CSV header: {exc}"]) from exc
    return list(reader.schema.names)


def _arrow_read(path: Path, column_types: dict[str, pa.DataType], nrows: int | None) -> pa.Table:
    convert = pa_csv.ConvertOptions(column_types=column_types, strings_can_be_null=True)
    read = pa_csv.ReadOptions(use_threads=True, block_size=1 << 24)
    if nrows is None:
        return pa_csv.read_csv(path, read_options=read, convert_options=convert)
    batches = []
    count = 0
    with pa_csv.open_csv(path, read_options=read, convert_options=convert) as reader:
        schema = reader.schema
        for batch in reader:
            batches.append(batch)
            count += batch.num_rows
            if count >= nrows:
                break
    table = pa.Table.from_batches(batches, schema=schema)
    return table.slice(0, nrows)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path: str | Path, name: str, *, nrows: int | None = None) -> pd.DataFrame:
    """Read one Kaggle CSV as table ``name``, validated but not cleaned (columns in Kaggle order).

    Raises:
        FileNotFoundError: the file does not exist.
        SchemaError: missing or unexpected columns, or values of the wrong kind.
    """
    path = Path(path)
    schema = _schema(name)
    if not path.is_file():
        raise FileNotFoundError(f"{schema.file_name} not found in {path.parent} (looked for {path})")
    header = _read_header(path)
    problems = _column_problems(schema, header)
    if problems:
        raise SchemaError(str(path), problems)

    column_types = {c.name: _ARROW_TYPES[c.kind] for c in schema.columns}
    for _ in range(len(schema.columns) + 1):
        try:
            table = _arrow_read(path, column_types, nrows)
            break
        except pa.ArrowInvalid as exc:
            match = _CONVERSION_ERROR.search(str(exc))
            if not match:
                raise SchemaError(str(path), [f"cannot parse the CSV: {exc}"]) from exc
            column = header[int(match.group(1))]
            value = match.group(3)
            kind = schema.column(column).kind
            if kind == "int" and _is_number(value) and column_types[column] != pa.float64():
                # e.g. "2.0" written by a tool that stored the column as float: read it as float, check below
                column_types[column] = pa.float64()
                continue
            raise SchemaError(
                str(path), [f"column {column}: expected {_KIND_WORDS[kind]}, found text such as {value!r}"]
            ) from exc
    else:  # pragma: no cover - every retry widens one column, so the loop ends
        raise SchemaError(str(path), ["cannot parse the CSV"])

    df = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    validate_table(name, df, source=str(path))
    return df[schema.column_names]


def _requested(tables: Iterable[str] | None) -> tuple[list[str], set[str]]:
    if tables is None:
        return list(TABLES), set(REQUIRED_TABLES)
    names = list(dict.fromkeys(tables))
    for name in names:
        _schema(name)
    return names, set(names)


def load_tables(
    directory: str | Path,
    tables: Iterable[str] | None = None,
    *,
    nrows: int | None = None,
    progress: bool = False,
) -> dict[str, pd.DataFrame]:
    """Read, validate and clean the Kaggle tables of ``directory``.

    Args:
        directory: folder holding the Kaggle CSV files under their Kaggle names (``bureau.csv``, ...);
            ``<name>.csv.gz`` is accepted too.
        tables: which tables to load; by default all eight, where ``application_test`` may be absent (it is
            then left out of the result). Tables named here are all required.
        nrows: read at most this many rows of each file (for quick looks; child rows then need not link).
        progress: show a progress bar over the bytes read.

    Returns:
        Table name to cleaned DataFrame (see :func:`clean_table`), in Kaggle order of tables and columns.

    Raises:
        FileNotFoundError: the directory or a required file is missing (the message names both).
        SchemaError: a file does not match the schema (the message names the file and the column).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist")
    names, required = _requested(tables)
    paths: dict[str, Path] = {}
    missing = []
    for name in names:
        path = table_path(directory, name)
        if path.is_file():
            paths[name] = path
        elif name in required:
            missing.append(path.name)
    if missing:
        raise FileNotFoundError(
            f"missing Kaggle file(s) {', '.join(missing)} in {directory.resolve()}"
            f" (expected {', '.join(TABLES[n].file_name for n in names if n in required)})"
        )

    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = sum(p.stat().st_size for p in paths.values())
        bar = tqdm(total=total, unit="B", unit_scale=True, desc="loading tables")
    result: dict[str, pd.DataFrame] = {}
    try:
        for name, path in paths.items():
            if bar is not None:
                bar.set_postfix_str(path.name)
            result[name] = clean_table(name, read_table(path, name, nrows=nrows))
            if bar is not None:
                bar.update(path.stat().st_size)
    finally:
        if bar is not None:
            bar.close()
    return result


def describe_tables(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows, columns and memory (MiB) per table: a one-line summary for logs and reports."""
    rows = [
        {
            "table": name,
            "rows": len(df),
            "columns": df.shape[1],
            "memory_mib": math.ceil(df.memory_usage(deep=True).sum() / 2**20 * 10) / 10,
        }
        for name, df in tables.items()
    ]
    return pd.DataFrame(rows, columns=["table", "rows", "columns", "memory_mib"])
