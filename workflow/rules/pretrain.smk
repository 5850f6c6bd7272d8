rule pretrain:
    """One method, one seed: checkpoints each epoch (a re-run resumes), exports safetensors. A folder with a
    published checkpoint loads it here instead (checked, keys mapped, strict) and exports it the same way."""
    input:
        store_reports_and_weights,
    output:
        encoder=paths.results(config) / "pretrain" / "{method}" / "seed{seed}" / "encoder.safetensors",
        model=paths.results(config) / "pretrain" / "{method}" / "seed{seed}" / "model.safetensors",
        log=paths.results(config) / "pretrain" / "{method}" / "seed{seed}" / "train_log.json",
    params:
        kernels=config["kernels"],  # CPU kernels change the last bits (benchmark/kernels.py)
        h=lambda w: hash_of("pretrain", "data", "device", "amp", method=w.method),
        code=code_of("pretrain"),
    threads: PRETRAIN_THREADS
    resources:
        gpu=pretrain_gpu,
    log:
        LOGS / "pretrain" / "{method}_seed{seed}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark pretrain --config "$BENCHMARK_SETTINGS" --method {wildcards.method} '
        "--seed {wildcards.seed} --threads {threads} --out $(dirname {output.log}) 2>&1 | tee {log}"
