"""The preprocessed store: round trip, completion marker, refusal of bad input."""
import numpy as np
import pandas as pd
import pytest

from benchmark.data.preprocess import normalise, resample
from benchmark.data.store import StoreWriter, adopt_store, load_store, write_store
from benchmark.errors import BenchmarkError


def _records(n):
    return pd.DataFrame({"ecg_id": [f"{i:03d}" for i in range(n)], "patient_id": ["p1", "p1", "p2", "p3"][:n],
                         "split": ["train", "train", "val", "test"][:n], "labels": ["NORM", "MI;CD", "", "HYP"][:n],
                         "report": ["sinus rhythm", "", "x", "lvh"][:n]})


def test_round_trip_keeps_signals_records_and_ids(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 12, 50)).astype(np.float32)
    write_store(tmp_path / "ds", x, _records(4), {"sampling_rate": 100})
    store = load_store(tmp_path / "ds")
    assert np.array_equal(np.asarray(store.signals), x)
    assert store.records["ecg_id"].tolist() == ["000", "001", "002", "003"]  # leading zeros survive
    assert store.label_sets() == [{"NORM"}, {"MI", "CD"}, set(), {"HYP"}]
    assert store.indices("train").tolist() == [0, 1]
    assert store.meta["split_sizes"] == {"train": 2, "val": 1, "test": 1}


def test_folder_without_meta_is_not_a_finished_store(tmp_path):
    x = np.zeros((4, 12, 10), np.float32)
    write_store(tmp_path / "ds", x, _records(4), {"sampling_rate": 100})
    (tmp_path / "ds" / "meta.json").unlink()  # as an interrupted preparation leaves it
    with pytest.raises(BenchmarkError, match="no meta.json"):
        load_store(tmp_path / "ds")


def test_nan_signals_and_unknown_splits_are_refused(tmp_path):
    x = np.zeros((4, 12, 10), np.float32)
    x[1, 3, 4] = np.nan
    with pytest.raises(BenchmarkError, match=r"NaN or inf \(signal rows \[1\]\)"):
        write_store(tmp_path / "a", x, _records(4), {})
    recs = _records(4)
    recs.loc[0, "split"] = "holdout"
    with pytest.raises(BenchmarkError, match="holdout"):
        write_store(tmp_path / "b", np.zeros((4, 12, 10), np.float32), recs, {})
    assert not (tmp_path / "a" / "meta.json").exists()


def test_an_interrupted_streamed_write_leaves_no_store_and_no_partial_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with StoreWriter(tmp_path / "ds", 4, 10) as out:
            out.write(0, np.zeros((2, 12, 10), np.float32))
            raise KeyboardInterrupt
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == []
    with pytest.raises(BenchmarkError, match="left without finish"):
        with StoreWriter(tmp_path / "ds", 4, 10) as out:
            out.write(0, np.zeros((2, 12, 10), np.float32))
            with pytest.raises(BenchmarkError, match="2 of 4 signal rows were never written"):
                out.finish(_records(4), {})
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == []


def test_a_built_signal_file_becomes_the_store_without_a_copy(tmp_path):
    from numpy.lib.format import open_memmap

    built = tmp_path / "ds" / ".signals-build.npy"
    built.parent.mkdir()
    open_memmap(built, mode="w+", dtype=np.float32, shape=(4, 12, 10))[:] = 0.5
    inode = built.stat().st_ino
    adopt_store(tmp_path / "ds", built, _records(4), {"sampling_rate": 100})
    assert (tmp_path / "ds" / "signals.npy").stat().st_ino == inode and not built.exists()
    assert float(load_store(tmp_path / "ds").signals[3, 11, 9]) == 0.5


def test_writing_a_store_holds_a_chunk_in_memory_not_the_dataset(tmp_path):
    """96 MB of signals in a memory map are written with a few MB of allocations (a whole-array finiteness
    check alone would take 24 MB)."""
    import tracemalloc

    from numpy.lib.format import open_memmap

    src = open_memmap(tmp_path / "src.npy", mode="w+", dtype=np.float32, shape=(4000, 12, 500))
    src[:] = 1.0
    src.flush()
    src = np.load(tmp_path / "src.npy", mmap_mode="r")
    recs = pd.DataFrame({"ecg_id": [str(i) for i in range(4000)], "patient_id": "p", "split": "train",
                         "labels": "", "report": ""})
    tracemalloc.start()
    write_store(tmp_path / "ds", src, recs, {})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 2 ** 20, f"peak {peak / 2 ** 20:.1f} MiB"
    assert np.array_equal(load_store(tmp_path / "ds").signals[-1], src[-1])


def test_normalisations():
    x = np.array([[[1.0, 3.0, 5.0]] * 12], dtype=np.float32)
    x[0, 1] = [0.0, 10.0, 20.0]
    mm = normalise(x, "minmax")
    assert mm.min() == 0.0 and mm.max() == 1.0 and mm[0, 1, 1] == pytest.approx(0.5)
    z = normalise(x, "zscore")
    assert z.mean(axis=-1) == pytest.approx(np.zeros((1, 12)), abs=1e-6)
    assert z.std(axis=-1) == pytest.approx(np.ones((1, 12)), abs=1e-4)
    with pytest.raises(BenchmarkError, match="data.normalisation"):
        normalise(x, "robust")


def test_resample_keeps_a_slow_sine():
    t = np.arange(5000) / 500
    x = np.sin(2 * np.pi * 1.0 * t)[None]
    y = resample(x, 500, 100)
    assert y.shape == (1, 1000)
    assert y[0] == pytest.approx(np.sin(2 * np.pi * np.arange(1000) / 100), abs=0.02)
