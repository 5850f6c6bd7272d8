"""The `subsets` step: the label-fraction subsets of a task's train split (record ids), drawn once, shared by every
method."""
from __future__ import annotations

import sys

from benchmark import provenance
from benchmark.evaluate.steps.common import task
from benchmark.evaluate.tasks import label_subsets
from benchmark.io import atomic_path, write_code_record


def write_subsets(config: dict, task_name: str, out) -> None:
    ev = config["evaluation"]
    _, store, data = task(config, task_name)
    table = label_subsets(data, task_name, ev["label_fractions"], ev["fraction_draws"], ev["subset_seed"])
    write_code_record(out, provenance.chain(store.meta.get("code"), provenance.step_record("subsets", task=task_name)))
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    counts = table.groupby(["fraction", "draw"]).size()
    print(f"{task_name}: " + ", ".join(f"{f:g} draw {d}: {n} records" for (f, d), n in counts.items()),
          file=sys.stderr)
