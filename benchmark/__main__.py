"""`python -m benchmark <command>`: the steps every Snakemake rule calls (and that can be run by hand)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def _config(args):
    from benchmark.config import load_config

    return load_config(args.config)


def cmd_prepare(args):
    from benchmark import data

    data.prepare(_config(args), args.dataset, args.out, threads=args.threads)


def cmd_download(args):
    from benchmark.data import physionet
    from benchmark.data.download import PHYSIONET, download_tree, local_copy_hint
    from benchmark.errors import ConfigError
    from benchmark.io import write_json

    config = _config(args)
    remote = PHYSIONET.get(args.source)
    if remote is None or args.part not in remote.parts:
        raise ConfigError(f"nothing to download for source {args.source!r} part {args.part!r}; known: "
                          + ", ".join(f"{s}: {sorted(r.parts)}" for s, r in PHYSIONET.items()))
    dl = config["download"]
    dest = physionet.raw_root({**config, remote.config_key: None}, args.source)
    base_url = remote.base_url
    if dl["mirror"]:
        base_url = dl["mirror"].rstrip("/") + "/" + base_url.removeprefix("https://physionet.org/files/")
    summary = download_tree(base_url, dest, remote.parts[args.part], required=remote.required.get(args.part, ()),
                            workers=dl["workers"], retries=dl["retries"], backoff=dl["backoff"], timeout=dl["timeout"],
                            hint=local_copy_hint(remote.config_key, remote.title))
    write_json(args.out, {"source": args.source, "part": args.part, "title": remote.title, "dest": str(dest),
                          **summary, "finished": time.strftime("%Y-%m-%d %H:%M:%S")})
    print(f"{remote.title} [{args.part}]: {summary['files']} files verified in {dest} "
          f"({summary['downloaded'] + summary['resumed']} fetched, {summary['present']} already there)",
          file=sys.stderr)


def cmd_embed_reports(args):
    from benchmark import paths, runtime
    from benchmark.data.store import load_store
    from benchmark.io import atomic_path
    from benchmark.text import embed_texts

    config = _config(args)
    runtime.setup(args.threads)
    store = load_store(paths.dataset_dir(config, config["pretrain"]["dataset"]))
    # only the pre-training split's reports are ever read (no val/test text); other rows stay zero
    train = store.indices("train")
    reports = store.records["report"].iloc[train].tolist()
    emb_train = embed_texts(config["pretrain"]["text_model"], reports, paths.text_cache(config),
                            device=str(runtime.pick_device(config["device"])))
    emb = np.zeros((len(store), emb_train.shape[1]), np.float32)
    emb[train] = emb_train
    with atomic_path(args.out) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, emb)


def cmd_pretrain(args):
    from benchmark.method import selected
    from benchmark.pretrain import pretrain

    config = _config(args)
    pretrain(config, selected(config)[args.method], args.seed, args.out, args.threads)


def _provenance(config, args, data, t0, train_info, method_folder, eval_device: str) -> dict:
    """What a metrics file records besides its numbers: which run, which code, which machine."""
    from benchmark import provenance
    from benchmark.config import config_hash
    from benchmark.evaluate.tasks import split_sizes

    code = provenance.record(method_folder)
    return {"method": args.method, "title": train_info["title"], "seed": args.seed, "task": args.task,
            "preset": config["preset"], "split_sizes": split_sizes(data), "classes": data.classes,
            "provenance": {"text_model": train_info.get("text_model") or config["pretrain"]["text_model"],
                           "config_hash": config_hash(config), "pretrain_run_hash": train_info["run_hash"],
                           **code,
                           "pretrain_commit": train_info.get("commit"),
                           "pretrain_code_fingerprint": train_info.get("code_fingerprint"),
                           "pretrain_method_fingerprint": train_info.get("method_fingerprint"),
                           "pretrain_command": train_info.get("command"),
                           "pretrain_device": train_info["device"], "pretrain_epochs": train_info["epochs"],
                           "pretrain_steps": train_info.get("steps"), "pretrain_batch_size": train_info["batch_size"],
                           "pretrain_settings": train_info.get("settings") or {},
                           "pretrain_records": train_info["n_train_records"],
                           "pretrain_wall_seconds": train_info["wall_seconds"],
                           "eval_device": eval_device, "eval_wall_seconds": round(time.time() - t0, 2)}}


def _task(config, name):
    """Store and records of a task (light: no torch)."""
    from benchmark import paths
    from benchmark.data.store import load_store
    from benchmark.evaluate import task_data

    task = config["tasks"][name]
    store = load_store(paths.dataset_dir(config, task["dataset"]))
    return task, store, task_data(store, task, name)


def _setup_eval(args):
    """Config, method folder, task, store, task records and the pre-training log of an evaluation step.
    Deliberately light (no torch, no method import): the linear probe needs neither."""
    from benchmark import paths
    from benchmark.io import read_json

    config = _config(args)
    np.random.seed(args.seed)
    task, store, data = _task(config, args.task)
    train_info = read_json(paths.pretrain_dir(config, args.method, args.seed) / "train_log.json")
    return config, paths.method_folder(args.method), task, store, data, train_info


def _save_npz(path, **arrays) -> None:
    """Write arrays to an .npz file atomically (np.savez on a path would append .npz to the temporary name)."""
    from benchmark.io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def cmd_subsets(args):
    from benchmark.evaluate.tasks import label_subsets
    from benchmark.io import atomic_path

    config = _config(args)
    ev = config["evaluation"]
    _, _, data = _task(config, args.task)
    table = label_subsets(data, args.task, ev["label_fractions"], ev["fraction_draws"], ev["subset_seed"])
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, index=False)
    counts = table.groupby(["fraction", "draw"]).size()
    print(f"{args.task}: " + ", ".join(f"{f:g} draw {d}: {n} records" for (f, d), n in counts.items()),
          file=sys.stderr)


def cmd_features(args):
    """Frozen-encoder features of every record of a dataset, once per (method, seed, dataset): every task on
    the dataset and every label fraction reuses them."""
    from benchmark import paths, runtime
    from benchmark.data.store import load_store
    from benchmark.encoders import ResNet18_1D
    from benchmark.evaluate.encode import embed, load_weights

    config = _config(args)
    runtime.setup(args.threads, args.seed)
    store = load_store(paths.dataset_dir(config, args.dataset))
    device = runtime.pick_device(config["device"])
    encoder = ResNet18_1D().to(device)
    load_weights(encoder, paths.pretrain_dir(config, args.method, args.seed) / "encoder.safetensors",
                 f"the {args.method} encoder")
    rows = np.arange(len(store))
    feats = embed(encoder, store.signals, rows, device, config["evaluation"]["batch_size"])
    _save_npz(args.out, features=feats, ecg_id=store.records["ecg_id"].to_numpy().astype(str))


def cmd_linear(args):
    import pandas as pd

    from benchmark.errors import BenchmarkError
    from benchmark.evaluate.linear import evaluate_fractions
    from benchmark.evaluate.tasks import subset_positions
    from benchmark.io import write_json

    t0 = time.time()
    config, folder, task, store, data, train_info = _setup_eval(args)
    saved = np.load(args.features)
    if not np.array_equal(saved["ecg_id"], store.records["ecg_id"].to_numpy().astype(str)):
        raise BenchmarkError(f"{args.features} was extracted from another version of dataset {task['dataset']}; "
                             "delete it and re-run")
    features = saved["features"][data.rows]
    table = pd.read_csv(args.subsets, dtype={"ecg_id": str})
    subsets = {(f, d): subset_positions(data, table, f, d, args.subsets)
               for f, d in table[["fraction", "draw"]].drop_duplicates().itertuples(index=False)}
    test = data.split == "test"
    fractions, scores = evaluate_fractions(features, data, subsets, config["evaluation"]["c_grid"])
    full = fractions["1"]  # the paper's protocol (100 % of the labels) is the headline
    metrics = {"auc": full["auc"], "f1": full["f1"], "classes_evaluated": full["draws"][0]["classes_evaluated"],
               "per_class_auc": full["draws"][0]["per_class_auc"], "selected_C": full["draws"][0]["selected_C"],
               "model_selection": full["draws"][0]["model_selection"], "fractions": fractions}
    _save_npz(args.predictions, y=data.y[test], **{f"scores_f{f:g}_d{d}": v for (f, d), v in scores.items()})
    write_json(args.out, {**_provenance(config, args, data, t0, train_info, folder, "CPU (scikit-learn)"),
                          "kind": "linear", "metrics": metrics})


def cmd_zeroshot(args):
    from benchmark import paths, runtime
    from benchmark.errors import BenchmarkError
    from benchmark.evaluate.encode import embed, load_weights
    from benchmark.evaluate.zeroshot import zero_shot_metrics, zero_shot_scores
    from benchmark.io import write_json
    from benchmark.method import load_method
    from benchmark.pretrain import build_method
    from benchmark.text import embed_texts

    t0 = time.time()
    config, folder, task, store, data, train_info = _setup_eval(args)
    runtime.setup(args.threads, args.seed)
    spec = load_method(folder)
    if not spec.cls.zero_shot:
        raise BenchmarkError(f"method {args.method} has no ECG-text space (zero_shot = False); "
                             "it takes no zero-shot evaluation")
    device = runtime.pick_device(config["device"])
    n_samples = train_info.get("n_samples", store.signals.shape[-1])  # train logs before n_samples was recorded
    method = build_method(spec, train_info["text_dim"], train_info["sampling_rate"], n_samples).to(device)
    load_weights(method, paths.pretrain_dir(config, args.method, args.seed) / "model.safetensors", f"method {args.method}")
    test = data.split == "test"
    names = {**data.names, **task.get("prompt_names", {})}  # the config's phrase wins over the store's name
    prompts = [config["evaluation"]["prompt"].format(names[c]) for c in data.classes]
    prompt_emb = embed_texts(train_info["text_model"], prompts, paths.text_cache(config), device=str(device))
    import torch

    with torch.no_grad():
        text_space = method.embed_text(torch.from_numpy(prompt_emb).to(device)).float().cpu().numpy()
    ecg_space = embed(method.embed_ecg, store.signals, data.rows[test], device, config["evaluation"]["batch_size"])
    scores = zero_shot_scores(ecg_space, text_space)
    metrics = zero_shot_metrics(data.y[test], scores, data.classes)
    metrics["prompts"] = prompts
    _save_npz(args.predictions, y=data.y[test], scores=scores)
    write_json(args.out, {**_provenance(config, args, data, t0, train_info, folder,
                                        runtime.device_name(device)),
                          "kind": "zeroshot", "metrics": metrics})


def cmd_compare(args):
    from benchmark.evaluate.compare import compare_linear, compare_zeroshot
    from benchmark.io import write_json
    from benchmark.method import selected

    config = _config(args)
    specs = selected(config)
    ev = config["evaluation"]
    _, _, data = _task(config, args.task)
    out = {"task": args.task, "seeds": config["seeds"], "bootstrap": ev["bootstrap"],
           "test_records": int((data.split == "test").sum())}
    if args.task in ev["linear_tasks"]:
        out["linear"] = compare_linear(config, args.task, list(specs))
    zero_shot = [m for m, s in specs.items() if s.cls.zero_shot]
    if args.task in ev["zeroshot_tasks"] and zero_shot:
        out["zeroshot"] = compare_zeroshot(config, args.task, zero_shot, data.classes)
    write_json(args.out, out)


def cmd_leaderboard(args):
    from benchmark import leaderboard
    from benchmark.method import selected

    config = _config(args)
    specs = selected(config)
    out = leaderboard.write(config, list(specs), {n: s.title for n, s in specs.items()},
                            [n for n, s in specs.items() if s.cls.zero_shot])
    print(f"leaderboard of preset {config['preset']!r}: {out}", file=sys.stderr)


def cmd_publish(args):
    from benchmark import leaderboard, paths

    config = _config(args)
    dest = leaderboard.publish(config, replace=args.replace)
    print(f"published {paths.leaderboard(config)} as {dest} (and its .json)", file=sys.stderr)


def cmd_plots(args):
    from benchmark.evaluate import plots
    from benchmark.method import selected

    config = _config(args)
    written = plots.draw(config, {n: s.title for n, s in selected(config).items()})
    print("figures: " + ", ".join(map(str, written)), file=sys.stderr)


def cmd_methods(args):
    from benchmark.method import discover

    for name, spec in discover().items():
        flags = [f for f, on in (("text", spec.cls.needs_text), ("zero-shot", spec.cls.zero_shot),
                                 ("untrained", not spec.config["trains"])) if on]
        print(f"{name:14s} {spec.title:14s} {spec.cls.paper}  [{', '.join(flags)}]")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, fn, *extra):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        if name != "methods":
            sp.add_argument("--config", required=True, help="preset YAML or the resolved config JSON")
            sp.add_argument("--threads", type=int, default=None)
        for arg in extra:
            sp.add_argument(f"--{arg}", required=True, type=int if arg == "seed" else str)
        return sp

    add("prepare", cmd_prepare, "dataset", "out")
    add("download", cmd_download, "source", "part", "out")
    add("embed-reports", cmd_embed_reports, "out")
    add("pretrain", cmd_pretrain, "method", "seed", "out")
    add("features", cmd_features, "method", "seed", "dataset", "out")
    add("subsets", cmd_subsets, "task", "out")
    add("linear", cmd_linear, "method", "seed", "task", "features", "subsets", "out", "predictions")
    add("zeroshot", cmd_zeroshot, "method", "seed", "task", "out", "predictions")
    add("compare", cmd_compare, "task", "out")
    add("plots", cmd_plots)
    add("leaderboard", cmd_leaderboard)
    add("publish", cmd_publish).add_argument(
        "--replace", action="store_true", help="replace a published board of another preset")
    add("methods", cmd_methods)
    args = p.parse_args(argv)

    from benchmark.errors import BenchmarkError

    try:
        args.fn(args)
    except BenchmarkError as e:
        print(f"error ({args.command}): {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
