def task_inputs(w):
    return [paths.dataset_dir(config, config["tasks"][w.task]["dataset"]) / "meta.json",
            paths.pretrain_dir(config, w.method, int(w.seed)) / "train_log.json"]


rule features:
    """Frozen-encoder features of every record of a task, extracted once per (method, seed, task)."""
    input:
        task_inputs,
    output:
        paths.results(config) / "features" / "{method}" / "seed{seed}" / "{task}.npz",
    params:
        h=lambda w: config_hash(config["tasks"][w.task]),
        code=CODE,
        method_code=lambda w: METHOD_CODE[w.method],
    log:
        LOGS / "features" / "{method}_seed{seed}_{task}.log",
    shell:
        "{PY} features --config {RESOLVED} --method {wildcards.method} --seed {wildcards.seed} "
        "--task {wildcards.task} --threads {threads} --out {output} 2>&1 | tee {log}"


rule linear:
    input:
        task_inputs,
        features=rules.features.output,
    output:
        paths.results(config) / "metrics" / "linear" / "{method}" / "seed{seed}" / "{task}.json",
    params:
        h=lambda w: config_hash({"task": config["tasks"][w.task], "eval": EVAL["c_grid"]}),
        code=CODE,
        method_code=lambda w: METHOD_CODE[w.method],
    log:
        LOGS / "linear" / "{method}_seed{seed}_{task}.log",
    shell:
        "{PY} linear --config {RESOLVED} --method {wildcards.method} --seed {wildcards.seed} --task {wildcards.task} "
        "--threads {threads} --features {input.features} --out {output} 2>&1 | tee {log}"


rule zeroshot:
    input:
        task_inputs,
    output:
        paths.results(config) / "metrics" / "zeroshot" / "{method}" / "seed{seed}" / "{task}.json",
    params:
        h=lambda w: config_hash({"task": config["tasks"][w.task], "prompt": EVAL["prompt"]}),
        code=CODE,
        method_code=lambda w: METHOD_CODE[w.method],
    log:
        LOGS / "zeroshot" / "{method}_seed{seed}_{task}.log",
    shell:
        "{PY} zeroshot --config {RESOLVED} --method {wildcards.method} --seed {wildcards.seed} "
        "--task {wildcards.task} --threads {threads} --out {output} 2>&1 | tee {log}"


def all_metrics(w):
    """The metrics files the board is made of (the same list it checks for completeness)."""
    return [paths.metrics(config, kind, m, s, t) for kind, m, t, s in
            sorted(leaderboard.expected(config, list(METHODS), ZERO_SHOT))]


rule leaderboard:
    """Tables 1-3 (Markdown) and a machine-readable JSON copy, in the preset's results folder. The top-level
    leaderboard.md is never a target here (a committed target would make a fresh clone's DAG a no-op); it is
    published from a finished run by `python -m benchmark publish`."""
    input:
        all_metrics,
    output:
        md=LEADERBOARD,
        json=LEADERBOARD.with_suffix(".json"),
    params:
        methods=",".join(METHODS),
        code=CODE,
        method_code=[METHOD_CODE[m] for m in METHODS],
        rendering=provenance.rendering_fingerprint(),
    log:
        LOGS / "leaderboard.log",
    shell:
        "{PY} leaderboard --config {RESOLVED} 2>&1 | tee {log}"
