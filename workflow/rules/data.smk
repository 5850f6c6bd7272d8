rule prepare_dataset:
    """Raw or synthetic data -> the common preprocessed store (signals.npy, records.csv, meta.json last)."""
    output:
        meta=paths.results(config) / "data" / "{dataset}" / "meta.json",
    params:
        h=lambda w: config_hash({"d": config["datasets"][w.dataset], "data": config["data"]}),
    log:
        LOGS / "prepare" / "{dataset}.log",
    shell:
        "{PY} prepare --config {RESOLVED} --dataset {wildcards.dataset} --out $(dirname {output.meta}) 2>&1 | tee {log}"


rule embed_reports:
    """Frozen text model over the pre-training reports, once per (text model, dataset)."""
    input:
        paths.dataset_dir(config, config["pretrain"]["dataset"]) / "meta.json",
    output:
        paths.report_embeddings(config),
    params:
        h=config_hash(config["pretrain"]["text_model"]),
    threads: workflow.cores
    log:
        LOGS / "embed_reports.log",
    shell:
        "{PY} embed-reports --config {RESOLVED} --threads {threads} --out {output} 2>&1 | tee {log}"
