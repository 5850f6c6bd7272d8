rule download_physionet:
    """One part of a PhysioNet project (PTB-XL: metadata, records100, records500; CPSC2018: records), every
    file verified against SHA256SUMS.txt; the marker is written last. Not used when <source>_dir is set."""
    output:
        Path(config["raw_dir"]) / "{source}" / ".downloads" / "{part}.json",
    params:
        # where from: another server (download.mirror changed) downloads again, checked against its SHA256SUMS.txt
        url=lambda w: physionet.PHYSIONET[w.source].url(config["download"]["mirror"]),
    log:
        LOGS / "download" / "{source}_{part}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark download --config "$BENCHMARK_SETTINGS" --source {wildcards.source} '
        "--part {wildcards.part} --out {output} 2>&1 | tee {log}"


rule download_metadata:
    """PTB-XL's metadata part, as download_physionet, with its two tables as outputs: the preparation takes them as
    inputs, so editing one (newer than the store) re-runs it, and the store's hash sees the change."""
    output:
        marker=Path(config["raw_dir"]) / "ptbxl" / ".downloads" / "metadata.json",
        tables=physionet.downloaded_tables(config, "ptbxl", "metadata"),
    params:
        url=physionet.PHYSIONET["ptbxl"].url(config["download"]["mirror"]),
    log:
        LOGS / "download" / "ptbxl_metadata.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark download --config "$BENCHMARK_SETTINGS" --source ptbxl --part metadata '
        "--out {output.marker} 2>&1 | tee {log}"


ruleorder: download_metadata > download_physionet


rule fetch_weights:
    """One file of a published checkpoint a method folder brings (its config.yaml `weights:`), downloaded once
    into the cache, resumed if interrupted, renamed into place only after its SHA-256 matched."""
    output:
        paths.weights_cache(config) / "{fetched}",
    params:
        method=lambda w: w.fetched.split("/", 1)[0],
        file=lambda w: w.fetched.split("/", 1)[1],
        # a new url or pin fetches again (the downloader replaces a cached file that no longer matches)
        pin=lambda w: config_hash(fetch_entry(w)),
    log:
        LOGS / "fetch_weights" / "{fetched}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark fetch-weights --config "$BENCHMARK_SETTINGS" --method {params.method} '
        "--file {params.file} 2>&1 | tee {log}"


rule fetch_prompt_set:
    """A named zero-shot prompt set (evaluation.prompt_sets), downloaded once into the cache and renamed into
    place only after its SHA-256 matched."""
    output:
        Path(config["cache_dir"]) / "prompts" / "{prompt_set}.json",
    params:
        pin=lambda w: config_hash(EVAL["prompt_sets"][w.prompt_set]),
    log:
        LOGS / "fetch_prompts" / "{prompt_set}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark fetch-prompts --config "$BENCHMARK_SETTINGS" --set {wildcards.prompt_set} '
        "2>&1 | tee {log}"


rule prepare_index:
    """A dataset prepared in shards (MIMIC-IV-ECG, benchmark/data/mimic.py), step 1: the tables joined, reports
    assembled and filtered, each record's row fixed (random order), the build file created at full size."""
    input:
        raw_download_markers,
    output:
        paths.results(config) / "data" / "{dataset}.shards" / "index.json",
    params:
        h=prepare_hash,
        code=code_of("prepare-index"),
        out=lambda w: paths.dataset_dir(config, w.dataset),
    log:
        LOGS / "prepare" / "{dataset}_index.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark prepare-index --config "$BENCHMARK_SETTINGS" --dataset {wildcards.dataset} '
        "--out {params.out} 2>&1 | tee {log}"


rule prepare_shard:
    """Step 2: one shard's records preprocessed into their rows of the build file; the marker is written last, so
    a killed shard is the only one re-run."""
    input:
        paths.results(config) / "data" / "{dataset}.shards" / "index.json",
    output:
        paths.results(config) / "data" / "{dataset}.shards" / "shard-{shard}.json",
    wildcard_constraints:
        shard=r"\d+",
    params:
        code=code_of("prepare-shard"),
        out=lambda w: paths.dataset_dir(config, w.dataset),
    threads: SHARD_THREADS
    resources:
        mem_mb=2000,   # the design bound per process (measured by scripts/rehearse.py at mirror scale)
    log:
        LOGS / "prepare" / "{dataset}_shard{shard}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark prepare-shard --config "$BENCHMARK_SETTINGS" --dataset {wildcards.dataset} '
        "--shard {wildcards.shard} --threads {threads} --out {params.out} 2>&1 | tee {log}"


rule prepare_dataset:
    """Raw or synthetic data -> the common preprocessed store (signals.npy, records.csv, meta.json last); for a
    dataset prepared in shards, the store from the build file once every shard has finished."""
    input:
        raw_download_markers,
        shard_markers,
    output:
        meta=paths.results(config) / "data" / "{dataset}" / "meta.json",
    params:
        h=prepare_hash,
        code=code_of("prepare"),
    # worker processes decoding WFDB records; the synthetic cohort is generated in one process
    threads: lambda w: 1 if config["datasets"][w.dataset]["source"] == "synthetic" else CORES
    log:
        LOGS / "prepare" / "{dataset}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark prepare --config "$BENCHMARK_SETTINGS" --dataset {wildcards.dataset} '
        "--threads {threads} --out $(dirname {output.meta}) 2>&1 | tee {log}"


rule embed_reports:
    """Frozen text model over the pre-training reports, once per (text model, dataset)."""
    input:
        paths.dataset_dir(config, config["pretrain"]["dataset"]) / "meta.json",
    output:
        paths.report_embeddings(config),
    params:
        kernels=config["kernels"],  # CPU kernels change the last bits (benchmark/kernels.py)
        h=text_model_hash(),
        code=code_of("embed-reports"),
    threads: CORES
    log:
        LOGS / "embed_reports.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark embed-reports --config "$BENCHMARK_SETTINGS" --threads {threads} --out {output} '
        "2>&1 | tee {log}"
