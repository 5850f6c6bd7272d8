"""The figures beside a preset's leaderboard, all read from the statistics files (nothing is computed here):
Table 1 as dots with CIs and random init's line, label-efficiency curves (random init and the best rows drawn out,
the others thin), and zero-shot per-class AUC as bars from chance. Each figure carries its caption (CAPTIONS)
under it, so the report and the board show it without a click. matplotlib is imported inside `draw`, so the
workflow can list the files without it."""
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


CAPTIONS = {
    "linear": "Table 1 as dots: each method's linear-probe macro AUC at 100 % of the training labels, one panel per "
              "task, with its {level} bootstrap CI over test records (and seeds); the dashed line is random init's "
              "AUC. A row is drawn in black only when the paired bootstrap tells it apart from the runner-up.",
    "label_efficiency": "Label efficiency: linear-probe macro AUC against the fraction of each task's training "
                        "labels the probe is fitted on (class-stratified draws, the same records for every method; C "
                        "chosen on the whole validation split). Random init (dashed) and the {best} best rows at "
                        "100 % are drawn with their {level} CI bands; the other rows are thin grey lines.",
    "zeroshot": "Zero-shot: per class (and on average), the one-vs-rest AUC of the cosine between each ECG and the "
                "class's prompt, as bars from chance (50 %, the dashed line): a bar to the left is worse than chance. "
                "Whiskers: {level} bootstrap CIs over test records. n/a: the test records hold no positive (or no "
                "negative) record of the class. Nothing is fitted.",
}
HIGHLIGHTED = 3   # label efficiency: how many of the best rows are drawn out beside random init


def kind(name: str) -> str:
    """The caption a figure takes: 'zeroshot' for every zero-shot task's figure, else its name."""
    return "zeroshot" if name.startswith("zeroshot_") else name


def caption(name: str, level: str = "95%") -> str:
    return CAPTIONS[kind(name)].format(level=level, best=HIGHLIGHTED)


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
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmark.emphasis import bold_rows
    from benchmark.evaluate.compare import BASELINE

    ev, tasks = config["evaluation"], config["tasks"]
    stats, out, written = _stats(config), files(config), []
    level = f"{100 * ev['bootstrap']['level']:g}%"
    out["linear"].parent.mkdir(parents=True, exist_ok=True)
    title = lambda t: tasks[t].get("title", t)  # noqa: E731
    name = lambda m: titles.get(m, m)  # noqa: E731
    # one colour per method in every figure: random init black, the others tab10 without its grey (the other rows'
    # colour in the label-efficiency figure); nine methods beside random init get nine distinct colours
    palette = [plt.get_cmap("tab10")(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
    others = [m for m in method_order(titles) if m != BASELINE]
    colour = {BASELINE: "black", **{m: palette[i % len(palette)] for i, m in enumerate(others)}}

    def save(fig, key):
        """The figure with its caption under it, written atomically."""
        fig.tight_layout()
        width = fig.get_size_inches()[0]
        fig.text(0.01, 0, "\n".join(textwrap.wrap(caption(key, level), width=int(width * 13))), ha="left", va="top",
                 fontsize=9, color="#333333")
        path = out[key]
        tmp = path.with_name(f".{path.stem}.partial.png")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")  # the caption and an outside legend stay in the file
        plt.close(fig)
        tmp.replace(path)
        written.append(path)

    # Table 1 as dots: linear AUC at 100 % of the labels, one panel per task, random init's AUC as a line
    lin = ev["linear_tasks"]
    fig, axes = _grid(plt, len(lin), 4.2, 0.35 * len(titles) + 1.6)
    for ax, t in zip(axes, lin):
        cell = stats[t]["linear"]["1"]["auc"]
        methods = method_order(cell["methods"])[::-1]
        best = bold_rows(cell)
        for i, m in enumerate(methods):
            e = cell["methods"][m]
            v, lo, hi = _v(e["value"]), _v(e["ci"]["lo"]), _v(e["ci"]["hi"])
            ax.errorbar(v, i, xerr=[[np.nan_to_num(v - lo)], [np.nan_to_num(hi - v)]], fmt="o", capsize=3,
                        color="black" if m in best else "grey" if m == BASELINE else "tab:blue")
        if BASELINE in cell["methods"]:
            ax.axvline(_v(cell["methods"][BASELINE]["value"]), color="grey", ls="--", lw=1)
        ax.set_yticks(range(len(methods)), [name(m) for m in methods])
        ax.set_xlabel(f"linear AUC (%), {level} CI")
        ax.set_title(f"{title(t)} (100% labels)")
        ax.grid(axis="x", alpha=0.3)
    save(fig, "linear")

    # label efficiency: random init and the best few drawn out with their bands, the others thin and grey; the
    # fractions evenly spaced (two or three points on a log axis read as a gap)
    fractions = sorted(ev["label_fractions"])
    fig, axes = _grid(plt, len(lin), 4.6, 3.6)
    handles = {}
    for ax, t in zip(axes, lin):
        full = stats[t]["linear"]["1"]["auc"]["methods"]
        ranked = sorted((m for m in full if m != BASELINE and full[m]["value"] is not None),
                        key=lambda m: full[m]["value"], reverse=True)
        drawn_out = ranked[:HIGHLIGHTED]
        x = np.arange(len(fractions))
        for m in method_order(full):
            rows = [stats[t]["linear"][f"{f:g}"]["auc"]["methods"][m] for f in fractions]
            y = [_v(r["value"]) for r in rows]
            if m == BASELINE or m in drawn_out:
                style = {"color": "black", "ls": "--"} if m == BASELINE else {"color": colour[m]}
                line, = ax.plot(x, y, marker="o", lw=2, label=name(m), **style)
                ax.fill_between(x, [_v(r["ci"]["lo"]) for r in rows], [_v(r["ci"]["hi"]) for r in rows], alpha=0.15,
                                color=line.get_color())
                handles.setdefault(name(m), line)
            else:
                line, = ax.plot(x, y, color="#bbbbbb", lw=1, zorder=0, label="other rows")
                handles.setdefault("other rows", line)
        ax.set_xticks(x, [f"{100 * f:g}" for f in fractions])
        ax.set_xlabel("fraction of training labels (%)")
        ax.set_ylabel("linear AUC (%)")
        ax.set_title(title(t))
        ax.grid(alpha=0.3)
    # one legend for every panel, outside them: inside, it covered the 100 % points of a panel
    order = [name(m) for m in method_order(titles) if name(m) in handles] + ["other rows"] * ("other rows" in handles)
    fig.legend([handles[k] for k in order], order, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5),
               frameon=False)
    save(fig, "label_efficiency")

    # zero-shot: per class, horizontal bars from chance (50 %) with CIs; n/a where a class cannot be evaluated
    for t in ev["zeroshot_tasks"]:
        zs = stats[t]["zeroshot"]
        classes = list(zs["per_class"]) + ["Average"]
        methods = method_order(zs["average"]["auc"]["methods"])
        fig, ax = plt.subplots(figsize=(8, 0.22 * len(classes) * max(2, len(methods)) + 1.4))
        height = 0.8 / len(methods)
        for j, m in enumerate(methods):
            cells = [zs["per_class"][c]["auc"] if c != "Average" else zs["average"]["auc"] for c in classes]
            vals = np.array([_v(c["methods"][m]["value"]) for c in cells])
            lo = np.array([_v(c["methods"][m]["ci"]["lo"]) for c in cells])
            hi = np.array([_v(c["methods"][m]["ci"]["hi"]) for c in cells])
            y = np.arange(len(classes)) + (j - (len(methods) - 1) / 2) * height   # the first method on top
            ax.barh(y, np.nan_to_num(vals - 50), height, left=50, label=name(m), color=colour[m],
                    xerr=[np.nan_to_num(vals - lo), np.nan_to_num(hi - vals)], capsize=2)
            for yy in y[np.isnan(vals)]:
                ax.text(50.5, yy, "n/a", va="center", fontsize=8, color="#555555")
        ax.axvline(50, color="black", lw=1, ls="--")
        ax.set_yticks(range(len(classes)), classes, fontsize=9)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel(f"zero-shot AUC (%), {level} CI; 50 = chance")
        ax.set_title(f"Zero-shot on {title(t)} ({stats[t]['test_records']} test records)")
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        save(fig, f"zeroshot_{t}")
    return written
