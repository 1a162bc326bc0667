"""write_dataset: Kaggle-looking CSV files that the loader (and plain pandas) read back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from service.applicant.schema import TABLES
from training.loader import clean_table, load_tables
from training.synthetic import METADATA_FILE, TRUE_PROBABILITY_FILE, generate, write_dataset
from training.synthetic.writer import write_csv

PANDAS_KIND = {"int64": "int", "float64": "float", "object": "str"}


def test_round_trip_through_the_loader(tmp_path: Path) -> None:
    dataset = generate(300, seed=2)
    out = write_dataset(dataset, tmp_path / "data")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [schema.file_name for schema in TABLES.values()] + [TRUE_PROBABILITY_FILE, METADATA_FILE]
    )
    loaded = load_tables(out)
    for name, df in dataset.tables.items():
        expected = clean_table(name, df)
        pd.testing.assert_frame_equal(loaded[name], expected, check_categorical=False, check_dtype=False)
        for column in expected.columns:
            assert str(loaded[name][column].dtype) == str(expected[column].dtype) or (
                isinstance(expected[column].dtype, pd.CategoricalDtype)
            ), (name, column)
    truth = pd.read_csv(out / TRUE_PROBABILITY_FILE)
    pd.testing.assert_frame_equal(truth, dataset.true_probability)
    metadata = json.loads((out / METADATA_FILE).read_text())
    assert metadata["seed"] == 2 and metadata["n_applicants"] == 300


def test_plain_pandas_infers_the_kaggle_kinds(tmp_path: Path) -> None:
    dataset = generate(200, seed=4)
    out = write_dataset(dataset, tmp_path)
    for name, schema in TABLES.items():
        df = pd.read_csv(out / schema.file_name)
        kinds = {column: PANDAS_KIND[str(dtype)] for column, dtype in df.dtypes.items()}
        expected = {c.name: c.kind for c in schema.columns}
        # a float column that happens to be entirely empty in a tiny sample is the only allowed difference
        different = {c for c in kinds if kinds[c] != expected[c] and df[c].notna().any()}
        assert not different, (name, different)


def test_csv_format(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "ID": np.array([1, 2, 3], dtype=np.int64),
            "AMOUNT": [2.0, 0.1, np.nan],
            "KIND": pd.Categorical(["Stone, brick", None, 'say "hi"']),
        }
    )
    path = write_csv(df, tmp_path / "x.csv")
    assert path.read_text() == 'ID,AMOUNT,KIND\n1,2.0,"Stone, brick"\n2,0.1,\n3,,"say ""hi"""\n'
    back = pd.read_csv(path)
    assert back["KIND"].tolist()[0] == "Stone, brick" and back["AMOUNT"].dtype == np.float64
    empty = write_csv(df.iloc[:0], tmp_path / "empty.csv")
    assert empty.read_text() == "ID,AMOUNT,KIND\n"
