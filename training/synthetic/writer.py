"""Write a generated data set as Kaggle CSV files (fast enough for the 27M-row bureau_balance).

The files look like Kaggle's: the header and the text values are unquoted unless they contain a comma or a
quote, missing values are empty fields, and float columns always carry a decimal point (``2.0``, not ``2``)
so that ``pandas.read_csv`` infers the same kinds as for the real files. Besides the eight tables, the
directory gets ``true_probability.csv`` (evaluation only; the loader never reads it) and ``synthetic.json``
(seed, scenario, row counts).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from service.applicant.schema import TABLES
from training.synthetic.generator import SyntheticDataset

TRUE_PROBABILITY_FILE = "true_probability.csv"
METADATA_FILE = "synthetic.json"
_CHUNK_ROWS = 1_000_000


def _quote(label: str) -> str:
    if any(ch in label for ch in ',"\n\r'):
        return '"' + label.replace('"', '""') + '"'
    return label


def _float_text(values: np.ndarray) -> pa.Array:
    """Floats as CSV text: shortest round-trip form, with ".0" on whole numbers, empty for NaN."""
    array = pa.array(values, from_pandas=True)
    text = pc.cast(array, pa.string())
    whole = pc.and_(pc.equal(pc.floor(array), array), pc.less(pc.abs(array), 1e15))
    return pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)


def _column(series: pd.Series) -> pa.Array:
    """One column of a chunk as CSV field text (null for an empty field)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = pa.array([_quote(str(c)) for c in series.cat.categories], type=pa.string())
        codes = series.cat.codes.to_numpy()
        return pc.take(categories, pa.array(codes, type=pa.int32(), mask=codes < 0))
    values = series.to_numpy()
    if values.dtype.kind == "f":
        return _float_text(values)
    if values.dtype.kind in "iub":
        return pc.cast(pa.array(values.astype(np.int64, copy=False)), pa.string())
    return pa.array([None if pd.isna(v) else _quote(str(v)) for v in values], type=pa.string())


def _lines(arrays: list[pa.Array]) -> memoryview:
    """The CSV text of a chunk: fields joined by commas, one line per row."""
    empty = pa.array([""] * len(arrays[0]), type=pa.string()) if arrays else pa.array([], type=pa.string())
    options = pc.JoinOptions(null_handling="replace", null_replacement="")
    joined = pc.binary_join_element_wise(*arrays, empty, ",", options=options)
    # replace the trailing comma added by the empty last field with a newline
    lines = pc.binary_join_element_wise(pc.utf8_slice_codeunits(joined, 0, -1), empty, "\n", options=options)
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    data = lines.buffers()[2]
    return memoryview(data)[offsets[0] : offsets[-1]]


def write_csv(df: pd.DataFrame, path: str | Path, *, threads: int = 2) -> Path:
    """Write ``df`` as a Kaggle-style CSV (see the module docstring)."""
    path = Path(path)
    with ThreadPoolExecutor(max_workers=threads) as pool, path.open("wb") as sink:
        sink.write((",".join(_quote(str(c)) for c in df.columns) + "\n").encode())
        for start in range(0, len(df), _CHUNK_ROWS):
            chunk = df.iloc[start : start + _CHUNK_ROWS]
            arrays = list(pool.map(_column, (chunk[c] for c in chunk.columns)))
            sink.write(_lines(arrays))
    return path


def write_dataset(dataset: SyntheticDataset, out_dir: str | Path, *, progress: bool = False) -> Path:
    """Write the eight tables under their Kaggle file names, plus true_probability.csv and synthetic.json.

    Returns:
        The directory (created if needed), ready for ``training.loader.load_tables``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [name for name in TABLES if name in dataset.tables]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names) + 1, desc="writing CSV", unit="file")
    try:
        for name in names:
            if bar is not None:
                bar.set_postfix_str(TABLES[name].file_name)
            write_csv(dataset.tables[name], out / TABLES[name].file_name)
            if bar is not None:
                bar.update(1)
        write_csv(dataset.true_probability, out / TRUE_PROBABILITY_FILE)
        if bar is not None:
            bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    (out / METADATA_FILE).write_text(json.dumps(dataset.metadata, indent=2, default=str) + "\n")
    return out
