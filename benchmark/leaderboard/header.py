"""The board's provenance, after its headline (benchmark.leaderboard.headline): what kind of numbers these are (a
demo warning, or what the reference columns mean) and one line per setting, source and piece of provenance."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from benchmark.evaluate.compare import method_order
from benchmark.io import read_json
from benchmark.leaderboard.cells import EXTERNAL, STALE


SPREAD = Path(__file__).resolve().parent.parent / "reference" / "cross_path_spread.json"


def spread_note(board) -> str:
    """How far one seed's cells move on another machine, as measured by scripts/cross_path_spread.py (the same
    preset when it was measured, else the demo's), for a board whose verdicts rest on one seed."""
    if not SPREAD.exists():
        return "How far another seed or machine moves a cell has not been measured yet."
    measured = read_json(SPREAD)
    preset = board.config["preset"] if board.config["preset"] in measured else "demo"
    m = measured.get(preset)
    if not m:
        return "How far another seed or machine moves a cell has not been measured yet."
    one = m["single_seed"]
    return (f"Measured on preset `{preset}` at commit {m['commit']} (docs/evaluation.md): between two CPU code paths "
            f"({m['paths'][0]} and {m['paths'][1]}) one seed's cells moved by a median of {one['median_abs']:.1f} and "
            f"up to {one['max_abs']:.1f} points, and {one['verdicts_changed']} of its {one['verdicts']} ↑ / ↓ / ≈ marks "
            f"changed" + (f"; between seeds, a cell's sd is {sd:.1f} points (median)." if (sd := m["between_seeds"][
                "median_sd"]) is not None else "."))


def single_seed_note(board) -> list[str]:
    return ["> **One pre-training seed.** The intervals and ↑ / ↓ / ≈ marks below cover the sampling of test records "
            "only, not training variance, so this board draws no verdict about methods.", f"> {spread_note(board)}"]


def external_note(board) -> str:
    """Why an external row is not a same-budget comparison with the rows pre-trained here; what each one's encoder
    was given (its declared input) and gives (its feature size)."""
    if not board.external:
        return ""

    def row(m: str) -> str:
        seen = board.external_io.get(m) or {}
        shape = ", ".join(x for x in (f"input {seen['input']}" if seen.get("input") else "",
                                      f"{seen['feature_dim']}-d features" if seen.get("feature_dim") else "") if x)
        return f"{board.titles.get(m, m)}: pre-trained on {board.external[m]}" + (f"; {shape}" if shape else "")

    rows = "; ".join(row(m) for m in board.external)
    return (f"{EXTERNAL} rows are published models evaluated as released, with their own architecture, input and "
            f"pre-training data ({rows}), not the train split of `{board.config['pretrain']['dataset']}` the other "
            "rows were pre-trained on: they are not a same-budget comparison (their pre-training data may even "
            "overlap this table's test records).")


def _settings_lines(board) -> list[str]:
    """One line per method choice recorded by the runs (Method.settings, e.g. the augmentation family), naming the
    rows that used each value."""
    used: dict[tuple[str, str], list[str]] = {}
    for m in method_order({r["method"] for r in board.runs}):
        seen = set()
        for r in (r for r in board.runs if r["method"] == m):
            for key, value in (r["provenance"].get("pretrain_settings") or {}).items():
                if (key, value) not in seen:
                    seen.add((key, value))
                    used.setdefault((key, value), []).append(board.titles.get(m, m))
    return [f"- {key[:1].upper() + key[1:]} {value}: {', '.join(rows)}" for (key, value), rows in sorted(used.items())]


def _left_out(board) -> list[str]:
    """One short line per folder left out; the full reason (what to do) is in leaderboard.json and the folder's
    README.md."""
    if not board.left_out:
        return []
    return ["- Left out of this run (what to do: leaderboard.json `left_out`, and each folder's README.md):"] + [
        f"  - `methods/{m}`: {why.split(': ')[0].split(' (')[0]}" for m, why in board.left_out.items()]


def _environments(board) -> list[str]:
    """The library versions, CPU or GPU, vector paths, threads and determinism the results were computed with: one
    line per step (pre-training, linear probe, zero-shot) and distinct environment, naming the rows when a step ran
    in more than one."""
    from benchmark.runtime import describe

    steps = (("pre-training", "pretrain_environment", ("linear", "zeroshot")),
             ("linear probes (batched L-BFGS in torch, benchmark.evaluate.logistic)",
              "eval_environment", ("linear",)),
             ("zero-shot", "eval_environment", ("zeroshot",)))
    lines = []
    for step, key, kinds in steps:
        seen: dict[str, set] = {}
        for (kind, m, _), runs in board.results.items():
            for r in runs:
                env = r["provenance"].get(key)
                if env and kind in kinds:
                    seen.setdefault(describe(env), set()).add(board.titles.get(m, m))
        for text, rows in sorted(seen.items()):
            who = "" if len(seen) == 1 else f"; rows: {', '.join(sorted(rows))}"
            lines.append(f"- Stack and machine ({step}{who}): {text}")
    return lines


def _dataset(name: str, ds: dict, meta: dict | None) -> str:
    """A dataset as its store describes it: what it is and how many records it holds (of how many listed)."""
    if meta is None:
        return f"`{name}` (source `{ds['source']}`, not prepared)"
    counts = meta.get("counts", {})
    if ds["source"] == "synthetic":
        held = f"{ds['n_records']:,} records generated"
    else:
        kept = counts.get("kept")
        held = (f"{kept:,}" if isinstance(kept, int) else "?") + " records" + (
            f" of the {counts['listed']:,} its metadata lists (a subset)" if counts.get("not_on_disk") else "")
    # CSN's labels follow one of two rules (benchmark/data/csn.py): the board says which its tasks used
    rule = (f"; labels `label_rule: {ds.get('label_rule', 'exact')}` ({meta['label_rule']})"
            if ds["source"] == "csn" and meta.get("label_rule") else "")
    return (f"`{name}`: {meta.get('title') or ds.get('title') or ds['source']}, {held} (source `{ds['source']}`)"
            f"{rule}")


def _commits(commits: list[str]) -> str:
    return ", ".join(f"{c[:-len('-dirty')]} (with uncommitted edits)" if c.endswith("-dirty") else c
                     for c in commits) or "?"


def code_line(board, machine: dict) -> str:
    """Which commit each group of rows was computed at, and whether every step they rest on ran the code this tree
    has (each step's fingerprint, benchmark.stepcode): results of several commits form one board when it did."""
    code = machine["code"]
    groups = code.get("groups") or []
    if not groups:
        return "- Code: (no results)"
    names = lambda ms: ", ".join(board.titles.get(m, m) for m in ms)  # noqa: E731
    rows = ("computed at commit " + _commits(groups[0]["commits"]) if len(groups) == 1 else
            "; ".join(f"{names(g['methods'])} computed at commit {_commits(g['commits'])}" for g in groups))
    stale = len(machine["stale"]) + len(code.get("stale_steps") or [])
    state = (f"**{stale} result(s) rest on code changed since** (rows marked {STALE})" if stale else
             "every step they rest on ran the code it has at the commit this board was drawn at")
    return (f"- Code: rows {rows}; {state}; tables drawn at commit {_commits([code['drawn_at']])} (per-step code "
            "fingerprints: `python -m benchmark steps`)")


def _devices(prov: list[dict]) -> str:
    return ", ".join(sorted({p["pretrain_device"] for p in prov}) or ["(no results)"])


def header(board, machine: dict) -> str:
    config, prov = board.config, [r["provenance"] for r in board.runs]
    steps = board.trained_steps
    budget = (f"{steps[0]} optimiser steps for every trained method" if len(steps) == 1 else
              "optimiser steps that differ between methods (Steps column)" if steps else "no trained method")
    pre = config["pretrain"]
    pre_records = sorted({p.get("pretrain_records") for p in prov if p.get("pretrain_records") is not None})
    metas = board.metas
    text_line = metas.get(pre["dataset"], {}).get("text_description", "synthetic English template reports")
    boot = config["evaluation"]["bootstrap"]
    lines = ["## About these numbers", ""]   # headline.ABOUT links here
    if board.demo:
        lines += ["> **DEMO RESULTS ON SYNTHETIC DATA.** These numbers come from the embedded synthetic cohort",
                  f"> (`benchmark/data/synthetic.py`), not from PTB-XL or CPSC2018, after {budget} at batch "
                  f"{pre['batch_size']}.",
                  "> They show that every step of the pipeline runs offline and what each objective learns in a",
                  "> short run on a toy task. They are **not** a reproduction of the paper and say little",
                  "> about how the methods rank on real ECGs. The paper's numbers appear only in columns marked",
                  "> *(ref.)*, measured on the real data."]
    else:
        lines += ["> Columns marked *(ref.)* are the numbers reported in the ETP paper (ICASSP 2024) on the full",
                  "> datasets, shown for comparison; every other number was measured by this benchmark, in the",
                  "> setting the lines below describe."]
    trained = any(m not in board.external for m in board.methods)
    if board.trained_seeds < 2 and trained:
        lines += [">"] + single_seed_note(board)
    lines += [""]
    if machine["problems"]:
        lines += ["> **WARNING: this board cannot be published as it is** (leaderboard.json lists the rows):"] + [f"> - {p}" for p in machine["problems"]] + [""]
    repaired = [f"{t} {kind} {st[kind]['resamples_repaired']}" for t, st in board.stats.items()
                for kind in ("linear", "zeroshot") if st.get(kind, {}).get("resamples_repaired")]
    lines += [f"- Preset: {config.get('description', config['preset'])}",
              code_line(board, machine),
              f"- Command: `{machine['command']}`{_pretrained_by(machine)}; generated "
              f"{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
              "- Data: " + "; ".join(_dataset(n, d, board.metas.get(n)) for n, d in config["datasets"].items()),
              f"- Signals: {config['data']['sampling_rate']} Hz, {config['data']['seconds']} s, 12 leads, "
              f"normalisation `{config['data']['normalisation']}`",
              kernels_line(config),
              f"- Pre-training: train split of `{pre['dataset']}` ({'/'.join(map(str, pre_records)) or '?'} records; "
              f"reports of the training split only), {pre['epochs']} epoch(s) at batch {pre['batch_size']} = "
              f"{budget}; text model `{pre['text_model']}` (frozen)",
              f"- Pre-training text: {text_line}; training split only",
              *[f"- {m['summary']}" for m in metas.values() if m.get("summary")],
              *_settings_lines(board),
              *(["- External checkpoints (published weights evaluated as released, pre-trained elsewhere on other "
                 "data; not a same-budget comparison): " + "; ".join(
                     f"{board.titles.get(m, m)}, pre-trained on {on}" for m, on in board.external.items())]
                if board.external else []),
              *_left_out(board),
              f"- Seeds: {config['seeds']} (mean ± sample sd when more than one"
              + ("; external checkpoints: the first seed only, their weights being fixed" if board.external else "")
              + f"); methods: {', '.join(method_order(board.methods))}",
              f"- Hardware (pre-training): {_devices(prov)}",
              *_environments(board),
              "- Linear probe: logistic regression on standardised frozen features, C chosen by macro AUC on the whole "
              "val split (at every label fraction), test scored once. Zero-shot: cosine between ECG and prompt "
              "embeddings, argmax prediction. Nothing is chosen on test (docs/evaluation.md)",
              f"- {100 * boot['level']:g}% CIs: percentile bootstrap over test records, {boot['resamples']} resamples "
              "shared by every method (paired comparisons), each keeping every evaluable class; with several seeds, "
              "the seeds are resampled too (docs/evaluation.md)"
              + (f". Test splits too small to keep every class by rejection; resamples repaired instead (task, "
                 f"protocol, count of {boot['resamples']}): {'; '.join(repaired)}" if repaired else "")]
    return "\n".join(lines)


def _pretrained_by(machine: dict) -> str:
    """The commands the pre-trainings ran under, where they are not the board's (a run resumed or extended by
    another command, e.g. more seeds)."""
    other = [c for c in machine.get("pretrain_commands", []) if c != machine["command"]]
    return "; pre-trained by " + ", ".join(f"`{c}`" for c in other) if other else ""


def kernels_line(config: dict) -> str:
    """Which CPU kernels the numbers were computed with (benchmark/kernels.py), and what that means for a rerun."""
    if config.get("kernels", "portable") == "portable":
        return ("- CPU kernels: `portable` (torch, oneDNN and MKL pinned to AVX2): another x86-64 CPU with AVX2 re-runs "
                "these numbers bit for bit with the same library versions and threads; `python -m benchmark verify` "
                "checks one method and seed on yours")
    return ("- **CPU kernels: `native`** (each library took this machine's widest vector path): these numbers are this "
            "machine's; on another CPU they differ in the last bits and a few marks may move (the published boards "
            "use `kernels: portable`)")
