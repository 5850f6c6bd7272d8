# Start-up: validate the preset, discover methods/*, write the resolved config every step reads.
import json
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

REPO = Path(workflow.basedir).parent
sys.path.insert(0, str(REPO))

from benchmark import data as bdata, paths  # noqa: E402
from benchmark.config import check_references, config_hash  # noqa: E402
from benchmark.errors import BenchmarkError  # noqa: E402
from benchmark.io import write_json  # noqa: E402
from benchmark.method import selected  # noqa: E402

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
LEADERBOARD = config["leaderboard"]
LOGS = paths.results(config) / "logs"
PY = f'"{sys.executable}" -m benchmark'


def hash_of(*keys, method=None):
    """Parameter hash of the config parts a step depends on: a change re-runs exactly what it affects."""
    parts = {k: config[k] for k in keys}
    if method:
        parts["method"] = METHODS[method].config
        parts["method_code"] = (METHODS[method].folder / "method.py").read_text()
    return config_hash(parts)


wildcard_constraints:
    method="|".join(METHODS),
    seed=r"\d+",
    task="|".join(config["tasks"]),
    dataset="|".join(config["datasets"]),
