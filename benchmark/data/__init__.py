"""Datasets: each source turns its raw form into the common preprocessed store (benchmark.data.store)."""
from __future__ import annotations

import sys
from pathlib import Path

from benchmark.data.sources import SHARDED, SOURCES
from benchmark.data.store import load_store, write_store
from benchmark.errors import ConfigError


def _preparer(source: str):
    """The function preparing `source`, imported by the name benchmark.data.sources gives it."""
    import importlib

    module, function = SOURCES[source].split(":")
    return getattr(importlib.import_module(module), function)


def check_sources(config: dict) -> None:
    from benchmark.data.physionet import check_local_copies

    for name, ds in config["datasets"].items():
        if ds["source"] not in SOURCES:
            raise ConfigError(
                f"dataset {name!r} uses source {ds['source']!r}, which this version cannot prepare "
                f"(available: {sorted(SOURCES)})")
    check_local_copies(config)


def prepare(config: dict, name: str, out_dir: str | Path, threads: int | None = None) -> None:
    """Build dataset `name`'s store in `out_dir` (held exclusively meanwhile). A store finished earlier from the
    same settings, raw files and code, whose meta.json Snakemake deleted to run the job again (as after a SIGINT to
    snakemake alone), is kept: its meta.json is put back (benchmark.io.keep_finished). meta.json records the code
    of the step (and of the steps before it, for a dataset prepared in shards: benchmark.provenance)."""
    from benchmark import provenance
    from benchmark.data.physionet import prepared_hash
    from benchmark.io import exclusive, forget_finished, keep_finished, read_json, reuse_finished, write_json

    check_sources(config)
    out_dir = Path(out_dir)
    fn = _preparer(config["datasets"][name]["source"])
    with exclusive(out_dir, f"the preparation of dataset {name}"):
        meta, key = [out_dir / "meta.json"], {"prepared_hash": prepared_hash(config, name)}
        store = all((out_dir / f).exists() for f in ("signals.npy", "records.csv"))
        if store and reuse_finished(meta, key):
            print(f"{name}: {out_dir} is already prepared with this configuration and these raw files; nothing to do",
                  file=sys.stderr)
            return
        forget_finished(meta)  # the folder is about to change: its old meta.json no longer describes it
        fn(config, name, out_dir, threads)
        written = read_json(meta[0])
        own = provenance.step_record("prepare", source=config["datasets"][name]["source"], dataset=name)
        write_json(meta[0], {**written, "prepared_hash": key["prepared_hash"],
                             "code": provenance.chain(written.get("code"), own)})
        keep_finished(meta, key)


__all__ = ["SHARDED", "SOURCES", "check_sources", "load_store", "prepare", "write_store"]
