rule subsets:
    """The label-fraction subsets of a task's train split (record ids), drawn once, shared by every method."""
    input:
        task_store,
    output:
        paths.subsets(config, "{task}"),
    params:
        h=lambda w: config_hash({"task": records_of(w.task), "fractions": FRACTIONS}),
        code=code_of("subsets"),
    log:
        LOGS / "subsets" / "{task}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark subsets --config "$BENCHMARK_SETTINGS" --task {wildcards.task} --out {output} '
        "2>&1 | tee {log}"


rule features:
    """Frozen-encoder features of every record of a dataset, extracted once per (method, seed, dataset); every
    task on the dataset and every label fraction reuses them."""
    input:
        paths.dataset_dir(config, "{dataset}") / "meta.json",
        paths.pretrain_dir(config, "{method}", "{seed}") / "train_log.json",
    output:
        paths.features(config, "{method}", "{seed}", "{dataset}"),
    params:
        kernels=config["kernels"],  # CPU kernels change the last bits (benchmark/kernels.py)
        h=lambda w: config_hash(config["datasets"][w.dataset]),
        code=code_of("features"),
    log:
        LOGS / "features" / "{method}_seed{seed}_{dataset}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark features --config "$BENCHMARK_SETTINGS" --method {wildcards.method} '
        "--seed {wildcards.seed} --dataset {wildcards.dataset} --threads {threads} --out {output} 2>&1 | tee {log}"


rule linear:
    """Linear probe at every label fraction (C selected on val); keeps the test scores for `compare`."""
    input:
        task_store,
        paths.pretrain_dir(config, "{method}", "{seed}") / "train_log.json",
        features=task_features,
        subsets=rules.subsets.output,
    output:
        metrics=paths.metrics(config, "linear", "{method}", "{seed}", "{task}"),
        predictions=paths.predictions(config, "linear", "{method}", "{seed}", "{task}"),
    params:
        kernels=config["kernels"],  # CPU kernels change the last bits (benchmark/kernels.py)
        h=lambda w: config_hash({"task": records_of(w.task), "c": EVAL["c_grid"]}),
        code=code_of("linear"),
    log:
        LOGS / "linear" / "{method}_seed{seed}_{task}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark linear --config "$BENCHMARK_SETTINGS" --method {wildcards.method} '
        "--seed {wildcards.seed} --task {wildcards.task} --threads {threads} --features {input.features} --subsets {input.subsets} --out {output.metrics} "
        "--predictions {output.predictions} 2>&1 | tee {log}"


rule zeroshot:
    """Zero-shot classification of the test split; keeps the test scores for `compare`."""
    input:
        task_store,
        paths.pretrain_dir(config, "{method}", "{seed}") / "train_log.json",
        prompt_set_inputs,
    output:
        metrics=paths.metrics(config, "zeroshot", "{method}", "{seed}", "{task}"),
        predictions=paths.predictions(config, "zeroshot", "{method}", "{seed}", "{task}"),
    params:
        kernels=config["kernels"],  # CPU kernels change the last bits (benchmark/kernels.py)
        h=lambda w: config_hash({"task": records_of(w.task), "names": config["tasks"][w.task]["prompt_names"],
                                 "prompt": EVAL["prompt"], "prompt_set": prompt_set_spec(w)}),
        code=code_of("zeroshot"),
    log:
        LOGS / "zeroshot" / "{method}_seed{seed}_{task}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark zeroshot --config "$BENCHMARK_SETTINGS" --method {wildcards.method} '
        "--seed {wildcards.seed} --task {wildcards.task} --threads {threads} --out {output.metrics} --predictions {output.predictions} "
        "2>&1 | tee {log}"


rule compare:
    """Bootstrap CIs and paired tests (against random init and the best row) for one task, from the saved
    test scores of every method and seed."""
    input:
        test_scores_of_every_row,
    output:
        paths.stats(config, "{task}"),
    params:
        h=lambda w: config_hash({"task": records_of(w.task), "boot": BOOT, "seeds": METHOD_SEEDS,
                                 "fractions": FRACTIONS, "methods": list(METHODS)}),
        code=code_of("compare"),
    threads: min(4, CORES)   # bootstrap metrics of the runs in parallel (benchmark.evaluate.compare)
    log:
        LOGS / "compare" / "{task}.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark compare --config "$BENCHMARK_SETTINGS" --task {wildcards.task} --threads {threads} --out {output} '
        "2>&1 | tee {log}"


rule plots:
    """The figures beside the board: label-efficiency curves, zero-shot per-class AUC, Table 1 as dots, all
    with their CIs."""
    input:
        every_metrics_file,
        expand(rules.compare.output[0], task=EVAL_TASKS),
    output:
        [report(p, category="Figures", caption=figure_caption(name)) for name, p in PLOTS.items()],
    params:
        settings=config_hash(placeless(SETTINGS)),  # titles, methods, seeds, CI level: every setting the figures show
        code=code_of("plots"),
    log:
        LOGS / "plots.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark plots --config "$BENCHMARK_SETTINGS" 2>&1 | tee {log}'


rule leaderboard:
    """The board (its headline first, then provenance, Table 1, the zero-shot averages), details.md (every label
    fraction and class), both rendered for the report, the report's front page and a machine-readable JSON copy, in
    the preset's results folder. The top-level
    leaderboard.md is never a target here (a committed target would make a fresh clone's DAG a no-op); it is
    published from a finished run by `python -m benchmark publish`."""
    input:
        every_metrics_file,
        expand(rules.compare.output[0], task=EVAL_TASKS),
        rules.plots.output,
    output:
        md=report(BOARD["md"], category="Leaderboard", caption="../report/leaderboard_markdown.rst"),
        html=report(BOARD["html"], category="Leaderboard", caption="../report/leaderboard.rst"),
        details=BOARD["details"],
        details_html=report(BOARD["details_html"], category="Leaderboard", caption="../report/details.rst"),
        front_page=BOARD["front_page"],
        json=BOARD["json"],
    params:
        settings=config_hash(placeless(SETTINGS)),  # the header shows every setting of the run (not where data lie)
        methods=",".join(METHODS),
        code=code_of("leaderboard"),
    log:
        LOGS / "leaderboard.log",
    conda:
        ENV
    shell:
        '"$BENCHMARK_PYTHON" -m benchmark leaderboard --config "$BENCHMARK_SETTINGS" 2>&1 | tee {log}'
