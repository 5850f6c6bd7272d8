from benchmark.data import physionet  # noqa: E402


rule download_physionet:
    """One part of a PhysioNet project (PTB-XL: metadata, records100, records500; CPSC2018: records), every
    file verified against SHA256SUMS.txt; the marker is written last. Not used when <source>_dir is set."""
    output:
        Path(config["raw_dir"]) / "{source}" / ".downloads" / "{part}.json",
    wildcard_constraints:
        source="ptbxl|cpsc2018",
        part="metadata|records100|records500|records",
    log:
        LOGS / "download" / "{source}_{part}.log",
    shell:
        "{PY} download --config {RESOLVED} --source {wildcards.source} --part {wildcards.part} --out {output} "
        "2>&1 | tee {log}"


def raw_inputs(w):
    return physionet.download_inputs(config, w.dataset)


def prepare_hash(w):
    """Parameters of a store; for PhysioNet sources also the raw copy it is read from (another copy rebuilds)."""
    ds = config["datasets"][w.dataset]
    parts = {"d": ds, "data": config["data"]}
    if ds["source"] in physionet.PHYSIONET:
        parts["raw"] = str(physionet.raw_root(config, ds["source"]))
    return config_hash(parts)


rule prepare_dataset:
    """Raw or synthetic data -> the common preprocessed store (signals.npy, records.csv, meta.json last)."""
    input:
        raw_inputs,
    output:
        meta=paths.results(config) / "data" / "{dataset}" / "meta.json",
    params:
        h=prepare_hash,
        code=CODE,
    # worker processes decoding WFDB records; the synthetic cohort is generated in one process
    threads: lambda w: 1 if config["datasets"][w.dataset]["source"] == "synthetic" else CORES
    log:
        LOGS / "prepare" / "{dataset}.log",
    shell:
        "{PY} prepare --config {RESOLVED} --dataset {wildcards.dataset} --threads {threads} "
        "--out $(dirname {output.meta}) 2>&1 | tee {log}"


rule embed_reports:
    """Frozen text model over the pre-training reports, once per (text model, dataset)."""
    input:
        paths.dataset_dir(config, config["pretrain"]["dataset"]) / "meta.json",
    output:
        paths.report_embeddings(config),
    params:
        h=config_hash(config["pretrain"]["text_model"]),
        code=CODE,
    threads: CORES
    log:
        LOGS / "embed_reports.log",
    shell:
        "{PY} embed-reports --config {RESOLVED} --threads {threads} --out {output} 2>&1 | tee {log}"
