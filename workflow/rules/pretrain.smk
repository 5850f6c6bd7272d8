def pretrain_inputs(w):
    inputs = [paths.dataset_dir(config, config["pretrain"]["dataset"]) / "meta.json"]
    if METHODS[w.method].cls.needs_text:
        inputs.append(paths.report_embeddings(config))
    return inputs


rule pretrain:
    """One method, one seed: checkpoints each epoch (a re-run resumes), exports safetensors."""
    input:
        pretrain_inputs,
    output:
        encoder=paths.results(config) / "pretrain" / "{method}" / "seed{seed}" / "encoder.safetensors",
        model=paths.results(config) / "pretrain" / "{method}" / "seed{seed}" / "model.safetensors",
        log=paths.results(config) / "pretrain" / "{method}" / "seed{seed}" / "train_log.json",
    params:
        h=lambda w: hash_of("pretrain", "data", "device", "amp", method=w.method),
        code=CODE,
        method_code=lambda w: METHOD_CODE[w.method],
    threads: PRETRAIN_THREADS
    resources:
        gpu=1,
    log:
        LOGS / "pretrain" / "{method}_seed{seed}.log",
    shell:
        "{PY} pretrain --config {RESOLVED} --method {wildcards.method} --seed {wildcards.seed} "
        "--threads {threads} --out $(dirname {output.log}) 2>&1 | tee {log}"
