"""Stores larger than RAM (MIMIC-IV-ECG): float16 signals, batches of shuffled runs of consecutive rows, rows
copied by several threads."""
import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.batches import BatchReader, ParallelRows
from benchmark.data.store import StoreWriter, load_store
from benchmark.errors import BenchmarkError
from benchmark.pretrain import epoch_batches


def test_block_batches_are_shuffled_runs_and_cover_every_full_run():
    batches = epoch_batches(1000, 128, seed=0, epoch=0, block=64)
    assert len(batches) == 1000 // 128 and all(len(b) == 128 for b in batches)
    for b in batches:                      # two runs of 64 neighbours each
        runs = np.split(b, np.flatnonzero(np.diff(b) != 1) + 1)
        assert all(len(r) % 64 == 0 or r[-1] == 999 for r in runs) and all(r[0] % 64 == 0 for r in runs)
    seen = np.concatenate(batches)
    assert len(set(seen.tolist())) == len(seen)
    assert not np.array_equal(np.sort(seen[:128]), np.arange(128))        # not the store's first rows
    assert not all(np.array_equal(a, b) for a, b in zip(batches, epoch_batches(1000, 128, 0, 1, 64)))
    # block 1 is the row-level shuffle every preset uses (unchanged)
    assert all(np.array_equal(a, b) for a, b in zip(epoch_batches(500, 32, 3, 2),
                                                     [np.sort(np.random.default_rng([3, 2]).permutation(500)[i:i + 32])
                                                      for i in range(0, 500 - 31, 32)]))


def test_float16_store_keeps_min_max_signals_within_its_precision(tmp_path):
    x = np.random.default_rng(0).random((5, 12, 100)).astype(np.float32)
    records = pd.DataFrame({"ecg_id": list("abcde"), "patient_id": list("abcde"), "split": ["train"] * 5,
                            "labels": [""] * 5, "report": ["r"] * 5})
    with StoreWriter(tmp_path / "s", 5, 100, "float16") as out:
        out.write(0, x)
        out.finish(records, {"dataset": "s"})
    store = load_store(tmp_path / "s")
    assert store.signals.dtype == np.float16 and store.signals.nbytes == x.nbytes // 2
    assert np.abs(store.signals.astype(np.float32) - x).max() <= 2 ** -12     # half a unit of float16 below 1
    with pytest.raises(BenchmarkError, match="NaN or inf"):          # beyond float16's range: named, not stored
        with StoreWriter(tmp_path / "t", 1, 100, "float16") as out:
            out.write(0, np.full((1, 12, 100), 1e5, np.float32))
    with pytest.raises(BenchmarkError, match="store_dtype 'int8'"):
        StoreWriter(tmp_path / "u", 1, 100, "int8")


def test_parallel_rows_and_the_reader_give_float32_batches_of_the_right_rows():
    signals = np.arange(40 * 12 * 8, dtype=np.float16).reshape(40, 12, 8) % 1000
    rows = np.arange(40)[::-1].copy()
    with ParallelRows(signals, 3) as parallel:
        np.testing.assert_array_equal(parallel[np.array([5, 1, 30])], signals[[5, 1, 30]])
    batches = [np.array([0, 3, 7]), np.array([1, 2])]
    reader = BatchReader(signals, rows, torch.arange(40), batches, torch.device("cpu"), io_threads=4)
    got = list(reader)
    assert [b["ecg"].dtype for b in got] == [torch.float32] * 2
    np.testing.assert_array_equal(got[0]["ecg"].numpy(), signals[rows[[0, 3, 7]]].astype(np.float32))
    assert got[1]["patient"].tolist() == rows[[1, 2]].tolist()
