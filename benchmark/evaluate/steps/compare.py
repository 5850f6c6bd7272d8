"""The `compare` step: bootstrap CIs and paired tests between the methods of a task (benchmark.evaluate.compare),
from the saved test scores of every method and seed."""
from __future__ import annotations

from benchmark import provenance
from benchmark.evaluate.compare import compare_linear, compare_zeroshot
from benchmark.evaluate.steps.common import task
from benchmark.io import write_json
from benchmark.method import run_selection


def write_stats(config: dict, task_name: str, out, threads: int | None = None) -> None:
    specs, seeds, _ = run_selection(config)
    external = [m for m, s in specs.items() if s.external]
    ev = config["evaluation"]
    _, _, data = task(config, task_name)
    result = {"task": task_name, "seeds": seeds, "external": external, "bootstrap": ev["bootstrap"],
              "test_records": int((data.split == "test").sum()),
              "code": provenance.step_record("compare", task=task_name)}
    if task_name in ev["linear_tasks"]:
        result["linear"] = compare_linear(config, task_name, seeds, external, threads)
    zero_shot = {m: seeds[m] for m, s in specs.items() if s.cls.zero_shot}
    if task_name in ev["zeroshot_tasks"] and zero_shot:
        result["zeroshot"] = compare_zeroshot(config, task_name, zero_shot, data.classes, external, threads)
    write_json(out, result)
