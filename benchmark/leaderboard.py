"""results/**/metrics/*.json -> leaderboard.md (Tables 1-3 shaped like the paper's) + leaderboard.json."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from benchmark import paths
from benchmark.io import atomic_path, read_json, write_json

REFERENCE = Path(__file__).resolve().parent / "reference"
PAPER_ORDER = ["random_init", "cpc", "simclr", "byol", "simsiam", "tstcc", "clocs", "astcl", "etp"]


def _paper_tables():
    return (pd.read_csv(REFERENCE / "etp_paper_table1_linear.csv").set_index("method"),
            {"ptbxl": pd.read_csv(REFERENCE / "etp_paper_table2_zeroshot_ptbxl.csv"),
             "cpsc2018": pd.read_csv(REFERENCE / "etp_paper_table3_zeroshot_cpsc2018.csv")})


def _order(methods) -> list[str]:
    return sorted(methods, key=lambda m: (PAPER_ORDER.index(m) if m in PAPER_ORDER else len(PAPER_ORDER), m))


def _fmt(values: list[float]) -> str:
    """Percent with one decimal, as in the paper; mean ± std when there are several seeds."""
    v = [x for x in values if x is not None and not np.isnan(x)]
    if not v:
        return "n/a"
    if len(v) == 1:
        return f"{100 * v[0]:.1f}"
    return f"{100 * np.mean(v):.1f} ± {100 * np.std(v, ddof=1):.1f}"


def _ref(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.1f}"


def collect(config: dict, methods: list[str]) -> dict:
    found = defaultdict(list)
    ev = config["evaluation"]
    for kind, tasks in (("linear", ev["linear_tasks"]), ("zeroshot", ev["zeroshot_tasks"])):
        for m in methods:
            for t in tasks:
                for s in config["seeds"]:
                    p = paths.metrics(config, kind, m, s, t)
                    if p.exists():
                        found[(kind, m, t)].append(read_json(p))
    return found


def build(config: dict, methods: list[str], titles: dict[str, str]) -> tuple[str, dict]:
    results = collect(config, methods)
    table1_ref, zs_ref = _paper_tables()
    ev, tasks = config["evaluation"], config["tasks"]
    demo = any(ds["source"] == "synthetic" for ds in config["datasets"].values())
    all_runs = [r for runs in results.values() for r in runs]
    machine: dict = {"preset": config["preset"], "linear": [], "zeroshot": []}

    # ---- Table 1: linear evaluation
    headers = ["Method"]
    for t in ev["linear_tasks"]:
        title = tasks[t].get("title", t)
        headers += [f"{title} AUC", f"{title} F1"]
        if tasks[t]["paper_table"]:
            headers += [f"paper {tasks[t]['paper_table']} AUC (ref.)", f"paper {tasks[t]['paper_table']} F1 (ref.)"]
    rows = []
    for m in _order({m for (k, m, _) in results if k == "linear"}):
        row = [titles.get(m, m)]
        for t in ev["linear_tasks"]:
            runs = results.get(("linear", m, t), [])
            row += [_fmt([r["metrics"]["auc"] for r in runs]), _fmt([r["metrics"]["f1"] for r in runs])]
            machine["linear"] += [{"method": m, "task": t, "seed": r["seed"], "auc": r["metrics"]["auc"],
                                   "f1": r["metrics"]["f1"]} for r in runs]
            pt = tasks[t]["paper_table"]
            if pt:
                ref = table1_ref.loc[m] if m in table1_ref.index else None
                row += [_ref(None if ref is None else ref[f"{pt}_auc"]), _ref(None if ref is None else ref[f"{pt}_f1"])]
        rows.append(row)
    sections = ["## Table 1: linear evaluation (frozen encoder, logistic regression; macro AUC and macro F1, %)",
                tabulate(rows, headers, tablefmt="github", disable_numparse=True) if rows else "_no linear results yet_"]

    # ---- Tables 2-3: zero-shot, per class
    for n, t in enumerate(ev["zeroshot_tasks"], start=2):
        pt = tasks[t]["paper_table"]
        ref = zs_ref.get(pt) if pt else None
        zs_methods = _order({m for (k, m, tt) in results if k == "zeroshot" and tt == t})
        headers = ["Category", "Method", "AUC", "ACC", "F1"] + (["paper AUC (ref.)", "paper ACC (ref.)",
                                                                   "paper F1 (ref.)"] if ref is not None else [])
        rows = []
        for cls in list(tasks[t]["classes"]) + ["Average"]:
            for m in zs_methods:
                runs = results[("zeroshot", m, t)]
                vals = [r["metrics"]["average"] if cls == "Average" else r["metrics"]["per_class"][cls] for r in runs]
                row = [cls, titles.get(m, m)] + [_fmt([v[k] for v in vals]) for k in ("auc", "acc", "f1")]
                machine["zeroshot"] += [{"method": m, "task": t, "class": cls, "seed": r["seed"], **v}
                                        for r, v in zip(runs, vals)]
                if ref is not None:
                    hit = ref[(ref["class"] == cls) & (ref["method"] == m)]
                    row += [_ref(hit[k].iloc[0]) if len(hit) else "" for k in ("auc", "acc", "f1")]
                rows.append(row)
        sections += [f"## Table {n}: zero-shot classification on {tasks[t].get('title', t)} "
                     f"(prompt \"{ev['prompt'].format('{class}')}\"; per-class AUC, ACC, F1, %)",
                     tabulate(rows, headers, tablefmt="github", disable_numparse=True) if rows else "_no zero-shot results yet_"]

    header = _header(config, all_runs, demo, methods)
    md = "\n\n".join([header] + sections) + "\n"
    machine["generated"] = header
    return md, machine


def _header(config: dict, runs: list[dict], demo: bool, methods: list[str]) -> str:
    prov = [r["provenance"] for r in runs]
    devices = sorted({p["pretrain_device"] for p in prov}) or ["(no results)"]
    commits = sorted({p["commit"] for p in prov}) or ["(no results)"]
    sizes = {r["task"]: r["split_sizes"] for r in runs}
    epochs = {r["method"]: r["provenance"]["pretrain_epochs"] for r in runs if "pretrain_epochs" in r["provenance"]}
    pre = config["pretrain"]
    metas = {n: read_json(paths.dataset_dir(config, n) / "meta.json") for n in config["datasets"]
             if (paths.dataset_dir(config, n) / "meta.json").exists()}
    text_line = metas.get(pre["dataset"], {}).get("text_description", "synthetic English template reports")
    lines = [f"# Leaderboard — preset `{config['preset']}`", ""]
    if demo:
        lines += ["> **DEMO RESULTS ON SYNTHETIC DATA.** These numbers come from the embedded synthetic cohort",
                  "> (`benchmark/data/synthetic.py`), not from PTB-XL or CPSC2018. They show that the pipeline works",
                  "> and that the methods rank sensibly on a learnable toy task; they are **not** a reproduction of",
                  "> the paper. The paper's numbers appear only in columns marked *(ref.)*, measured on the real data.", ""]
    else:
        lines += ["> Columns marked *(ref.)* are the numbers reported in the ETP paper (ICASSP 2024) on the full",
                  "> datasets, shown for comparison; every other number was measured by this benchmark, in the",
                  "> setting the lines below describe.", ""]
    lines += [f"- Preset: {config.get('description', config['preset'])}",
              f"- Generated: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by "
              f"`snakemake --cores all --configfile <{config['preset']} preset>`; code commit(s): {', '.join(commits)}",
              f"- Data: " + "; ".join(f"{n} ({d.get('title', d['source'])}, source `{d['source']}`)"
                                      for n, d in config["datasets"].items()),
              f"- Signals: {config['data']['sampling_rate']} Hz, {config['data']['seconds']} s, 12 leads, "
              f"normalisation `{config['data']['normalisation']}`",
              f"- Pre-training: train split of `{pre['dataset']}` (reports of the training split only), "
              f"{pre['epochs']} epochs, batch {pre['batch_size']}; text model `{pre['text_model']}` (frozen)",
              f"- Pre-training text: {text_line}; training split only",
              *[f"- {n}: {m['summary']}" for n, m in metas.items() if m.get("summary")],
              f"- Epochs actually run: " + (", ".join(f"{m} {e}" for m, e in sorted(epochs.items())) or "(no results)"),
              f"- Split sizes (train/val/test): " + "; ".join(
                  f"{t}: {s['train']}/{s['val']}/{s['test']}" for t, s in sorted(sizes.items())),
              f"- Seeds: {config['seeds']} (mean ± sample std when more than one); methods: {', '.join(_order(methods))}",
              f"- Hardware (pre-training): {', '.join(devices)}",
              "- Linear probe: logistic regression on standardised frozen features, C chosen by val macro AUC, "
              "test scored once. Zero-shot: cosine between ECG and prompt embeddings, argmax prediction."]
    return "\n".join(lines)


def write(config: dict, methods: list[str], titles: dict[str, str], md_path: str | Path) -> None:
    md, machine = build(config, methods, titles)
    with atomic_path(md_path) as tmp:
        tmp.write_text(md)
    write_json(Path(md_path).with_suffix(".json"), machine)
