# Start-up: validate the preset, discover methods/*, write the resolved config every step reads.
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

REPO = Path(workflow.basedir).parent
sys.path.insert(0, str(REPO))

from benchmark import data as bdata, leaderboard, paths, provenance  # noqa: E402
from benchmark.evaluate import plots  # noqa: E402
from benchmark.config import check_references, check_removed_keys, config_hash, result_settings  # noqa: E402
from benchmark.errors import BenchmarkError  # noqa: E402
from benchmark.io import write_json  # noqa: E402
from benchmark.method import selected  # noqa: E402

try:
    check_removed_keys(config, "the preset")
except BenchmarkError as e:
    raise WorkflowError(f"cannot build the workflow: {e}") from None
validate(config, "../schemas/config.schema.yaml")
try:
    check_references(config)
    bdata.check_sources(config)
    METHODS = selected(config)
except BenchmarkError as e:
    raise WorkflowError(f"cannot build the workflow: {e}") from None

RESOLVED = paths.results(config) / "config.json"
if not RESOLVED.exists() or json.loads(RESOLVED.read_text()) != config:
    write_json(RESOLVED, config)  # rewritten only on change, so its age never triggers re-runs

SEEDS = config["seeds"]
EVAL = config["evaluation"]
ZERO_SHOT = [m for m, s in METHODS.items() if s.cls.zero_shot]
if config["evaluation"]["zeroshot_tasks"] and not ZERO_SHOT:
    raise WorkflowError("cannot build the workflow: evaluation.zeroshot_tasks names tasks, but none of the selected "
                        "methods has an ECG-text space; set `evaluation.zeroshot_tasks: []` or select one (etp, "
                        "random_init)")
LEADERBOARD = paths.leaderboard(config)
LOGS = paths.results(config) / "logs"
PY = f'"{sys.executable}" -m benchmark'
try:
    CORES = workflow.cores
except WorkflowError:  # --report, --lint, --dag: no --cores given, no job runs
    CORES = 1
PRETRAIN_THREADS = min(config["pretrain"]["threads"] or CORES, CORES)

# Which code a step runs (benchmark/provenance.py). Every step takes the shared code's fingerprint as a
# parameter and every method step its folder's too, so an edit re-runs exactly the steps that depend on it and
# a finished DAG holds the results of one code state, never a mix.
CODE = provenance.code_fingerprint()
METHOD_CODE = {m: provenance.method_fingerprint(s.folder) for m, s in METHODS.items()}

# The command that started this run, for the leaderboard header (jobs inherit the environment; a job that
# re-parses this file, on a cluster, keeps the first value).
os.environ.setdefault("BENCHMARK_INVOCATION", shlex.join(["snakemake", *sys.argv[1:]]))


def hash_of(*keys, method=None):
    """Parameter hash of the config parts a step depends on: a change re-runs exactly what it affects.
    The pretrain keys that change only the speed (threads, check_every) are left out."""
    parts = {k: config[k] for k in keys}
    if "pretrain" in parts:
        parts["pretrain"] = result_settings(parts["pretrain"])
    if method:
        parts["method"] = METHODS[method].config
    return config_hash(parts)


wildcard_constraints:
    method="|".join(METHODS),
    seed=r"\d+",
    task="|".join(config["tasks"]),
    dataset="|".join(config["datasets"]),
