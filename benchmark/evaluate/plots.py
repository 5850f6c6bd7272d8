"""The figures beside a preset's leaderboard, all read from the metrics and statistics files (nothing is
computed here): label-efficiency curves (linear AUC against the fraction of training labels, one line per
method, CI bands), zero-shot per-class AUC with CIs, and Table 1 as a dot plot with CIs.
matplotlib is imported inside `draw`, so the workflow can list the files without it."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark import paths
from benchmark.evaluate.compare import method_order
from benchmark.io import read_json


def files(config: dict) -> dict[str, Path]:
    """name -> PNG path of every figure of a preset (fixed when the workflow is built)."""
    out = {"linear": paths.plots(config) / "linear_auc.png",
           "label_efficiency": paths.plots(config) / "label_efficiency.png"}
    out.update({f"zeroshot_{t}": paths.plots(config) / f"zeroshot_{t}.png" for t in config["evaluation"]["zeroshot_tasks"]})
    return out


def _grid(plt, n: int, width: float, height: float):
    """Panels in rows of at most three (seven PTB-XL and CPSC2018 tasks stay readable)."""
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _v(x) -> float:
    return float("nan") if x is None else 100 * x


def _stats(config: dict) -> dict[str, dict]:
    ev = config["evaluation"]
    return {t: read_json(paths.stats(config, t)) for t in sorted(set(ev["linear_tasks"]) | set(ev["zeroshot_tasks"]))}


def draw_preset(config: dict) -> list[Path]:
    """The figures of the methods of the preset's workflow run (benchmark.method.run_selection); external
    checkpoints are named so in the legends."""
    from benchmark import provenance
    from benchmark.io import write_code_record
    from benchmark.method import run_selection

    specs = run_selection(config)[0]
    write_code_record(figures_record(config), provenance.step_record("plots"))
    return draw(config, {n: s.title + (" (external)" if s.external else "") for n, s in specs.items()})


def figures_record(config: dict) -> Path:
    """The name the figures' code record is kept under (benchmark.io.code_record_path), in the plots folder."""
    return paths.plots(config) / "figures"


def draw(config: dict, titles: dict[str, str]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev, tasks = config["evaluation"], config["tasks"]
    stats, out, written = _stats(config), files(config), []
    level = f"{100 * ev['bootstrap']['level']:g}%"
    out["linear"].parent.mkdir(parents=True, exist_ok=True)
    title = lambda t: tasks[t].get("title", t)  # noqa: E731

    def save(fig, path):
        fig.tight_layout()
        tmp = path.with_name(f".{path.stem}.partial.png")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")  # a legend placed outside the axes stays in the file
        plt.close(fig)
        tmp.replace(path)
        written.append(path)

    # Table 1 as dots: linear AUC at 100 % of the labels, one panel per task
    lin = ev["linear_tasks"]
    fig, axes = _grid(plt, len(lin), 4.2, 0.35 * len(titles) + 1.6)
    for ax, t in zip(axes, lin):
        cell = stats[t]["linear"]["1"]["auc"]
        methods = method_order(cell["methods"])[::-1]
        for i, m in enumerate(methods):
            e = cell["methods"][m]
            v, lo, hi = _v(e["value"]), _v(e["ci"]["lo"]), _v(e["ci"]["hi"])
            ax.errorbar(v, i, xerr=[[np.nan_to_num(v - lo)], [np.nan_to_num(hi - v)]], fmt="o", capsize=3,
                        color="black" if m == cell["best"] else "tab:blue")
        ax.set_yticks(range(len(methods)), [titles.get(m, m) for m in methods])
        ax.set_xlabel(f"linear AUC (%), {level} CI")
        ax.set_title(f"{title(t)} (100% labels)")
        ax.grid(axis="x", alpha=0.3)
    save(fig, out["linear"])

    # label efficiency: AUC against the fraction of training labels
    fractions = sorted(ev["label_fractions"])
    fig, axes = _grid(plt, len(lin), 4.6, 3.6)
    for ax, t in zip(axes, lin):
        for m in method_order(stats[t]["linear"]["1"]["auc"]["methods"]):
            rows = [stats[t]["linear"][f"{f:g}"]["auc"]["methods"][m] for f in fractions]
            x = 100 * np.array(fractions)
            ax.plot(x, [_v(r["value"]) for r in rows], marker="o", label=titles.get(m, m))
            ax.fill_between(x, [_v(r["ci"]["lo"]) for r in rows], [_v(r["ci"]["hi"]) for r in rows], alpha=0.12)
        ax.set_xscale("log")
        ax.set_xticks(100 * np.array(fractions), [f"{100 * f:g}%" for f in fractions])
        ax.set_xlabel("training labels")
        ax.set_ylabel("linear AUC (%)")
        ax.set_title(title(t))
        ax.grid(alpha=0.3)
    # one legend for every panel, outside them: inside, it covered the 100 % points of a panel
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    save(fig, out["label_efficiency"])

    # zero-shot: per-class AUC with CIs, one group of bars per class
    for t in ev["zeroshot_tasks"]:
        zs = stats[t]["zeroshot"]
        classes = list(zs["per_class"]) + ["Average"]
        methods = method_order(zs["average"]["auc"]["methods"])
        fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(classes) * max(1, len(methods)) / 2 + 2), 3.6))
        width = 0.8 / len(methods)
        for j, m in enumerate(methods):
            cells = [zs["per_class"][c]["auc"] if c != "Average" else zs["average"]["auc"] for c in classes]
            vals = np.array([_v(c["methods"][m]["value"]) for c in cells])
            lo = np.array([_v(c["methods"][m]["ci"]["lo"]) for c in cells])
            hi = np.array([_v(c["methods"][m]["ci"]["hi"]) for c in cells])
            x = np.arange(len(classes)) + (j - (len(methods) - 1) / 2) * width
            ax.bar(x, vals, width, label=titles.get(m, m), yerr=[np.nan_to_num(vals - lo), np.nan_to_num(hi - vals)],
                   capsize=2)
        ax.axhline(50, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(classes)), classes, rotation=45 if len(classes) > 8 else 0, ha="right"
                      if len(classes) > 8 else "center", fontsize=8)
        ax.set_ylabel(f"zero-shot AUC (%), {level} CI")
        ax.set_title(f"Zero-shot on {title(t)} ({stats[t]['test_records']} test records)")
        ax.legend(fontsize=8)
        save(fig, out[f"zeroshot_{t}"])
    return written
