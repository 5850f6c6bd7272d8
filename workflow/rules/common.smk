# Start-up: validate the preset, discover methods/*, name the settings file every step reads (written by the
# Snakefile's onstart, once Snakemake holds its lock). The helper functions the other .smk files use live here,
# apart from their rules, as Snakemake's linter asks.
import functools
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import update_config, validate

REPO = Path(workflow.basedir).parent
sys.path.insert(0, str(REPO))

from benchmark import config as bconfig, data as bdata, kernels, leaderboard, paths, stepcode, text, weights  # noqa: E402
from benchmark.data import physionet  # noqa: E402
from benchmark.evaluate import plots, prompts as prompt_sets  # noqa: E402
from benchmark.config import (RUN_SELECTION, check_references, check_removed_keys, config_hash,  # noqa: E402
                              placeless, result_settings, typed_overrides)
from benchmark.errors import BenchmarkError  # noqa: E402
from benchmark.io import write_json_once  # noqa: E402
from benchmark.method import freeze_selection, run_settings  # noqa: E402

try:
    check_removed_keys(config, "the preset")
    if RUN_SELECTION in config:
        raise BenchmarkError(f"the preset sets `{RUN_SELECTION}`, which the workflow writes into a run's settings "
                             "file; remove it")
except BenchmarkError as e:
    raise WorkflowError(f"cannot build the workflow: {e}") from None
# `--config 'seeds=[0,1,2]'` or `'pretrain={epochs: 1}'` reaches Snakemake as text (every leaf a string), and
# Snakemake's YAML reads `1e-4` in a preset as text too: give each leaf the type the schema wants there
# (benchmark.config.typed_overrides)
update_config(config, typed_overrides(config))
try:  # our validator first: one line per problem naming the key (Snakemake's prints the whole config after it)
    bconfig.validate(config, REPO / "workflow" / "schemas" / "config.schema.yaml", "the preset")
except BenchmarkError as e:
    raise WorkflowError(f"cannot build the workflow: {e}") from None
validate(config, "../schemas/config.schema.yaml")  # fills in the defaults, in place
try:
    check_references(config)
    bdata.check_sources(config)
    paths.check_writable(config)
    kernels.apply(config["kernels"])   # every job inherits the pinned CPU kernels (benchmark/kernels.py)
    METHODS, METHOD_SEEDS, LEFT_OUT, _frozen = freeze_selection(config)
except BenchmarkError as e:
    raise WorkflowError(f"cannot build the workflow: {e}") from None
for _name, _why in LEFT_OUT.items():  # a folder whose published checkpoint this machine cannot get: not a failure
    print(f"methods/{_name} is left out of preset {config['preset']!r}: {_why}", file=sys.stderr)

# What every job reads: the preset plus the frozen method selection, in a file named by its content hash. Nothing
# is written while the workflow is built (a dry run, or a command refused by Snakemake's lock, must not change
# what a running run reads): the Snakefile's onstart writes it once the lock is held, and never rewrites it.
# Jobs find it through $BENCHMARK_SETTINGS, not through a rule parameter, so a settings change re-runs only the
# steps whose own config slice (their `h` parameter) changed. A job that re-parses this file on a cluster node
# keeps the value of the host that submitted it (the selection there could differ if a checkpoint file appeared).
SETTINGS, RESOLVED = run_settings(config, _frozen)
if not workflow.remote_exec or "BENCHMARK_SETTINGS" not in os.environ:
    os.environ.update(BENCHMARK_SETTINGS=str(RESOLVED))


envvars:
    "BENCHMARK_SETTINGS",  # passed on to jobs that run elsewhere (an executor plugin's job environment)


EVAL = config["evaluation"]
ZERO_SHOT = [m for m, s in METHODS.items() if s.cls.zero_shot]
if config["evaluation"]["zeroshot_tasks"] and not ZERO_SHOT:
    raise WorkflowError("cannot build the workflow: evaluation.zeroshot_tasks names tasks, but none of the selected "
                        "methods has an ECG-text space; set `evaluation.zeroshot_tasks: []` or select one (etp, "
                        "random_init)")
LEADERBOARD = paths.leaderboard(config)
BOARD = leaderboard.files(config)
LOGS = paths.results(config) / "logs"
# The interpreter every step runs `-m benchmark` with: the one running Snakemake, or, with --use-conda, the rule's
# environment's (environment.yml). An environment variable, so the shell commands name no workflow variable.
_conda = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
# (a value the user set wins). PYTHONPATH: the package is importable from any --directory, also in a conda env.
os.environ.update(BENCHMARK_PYTHON=os.environ.get("BENCHMARK_PYTHON") or ("python" if _conda else sys.executable),
                  PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
ENV = str(REPO / "environment.yml")
try:
    CORES = workflow.cores
except WorkflowError:  # --report, --lint, --dag: no --cores given, no job runs
    CORES = 1
PRETRAIN_THREADS = min(config["pretrain"]["threads"] or CORES, CORES)



def code_of(command: str):
    """The fingerprint of the code a rule's step runs (benchmark.stepcode: the rule, its command, the modules it
    imports, the method folder of a method's step, the module of a dataset's source), as the rule's `code`
    parameter: an edit re-runs exactly the steps whose code it changes, and the steps after them."""
    def fingerprint(w) -> str:
        folder = METHODS[w.method].folder if command in stepcode.METHOD_STEPS else None
        source = config["datasets"][w.dataset]["source"] if command in stepcode.SOURCE_STEPS else None
        return step_fingerprint(command, folder, source)

    return fingerprint


@functools.lru_cache(maxsize=None)
def step_fingerprint(command: str, folder, source):
    """One step's fingerprint, computed once per workflow build (the code does not change while it is built)."""
    return stepcode.fingerprint(command, folder, source)

# The command that started this run, for the leaderboard header (jobs inherit the environment; a job that
# re-parses this file, on a cluster, keeps the first value).
os.environ.setdefault("BENCHMARK_INVOCATION", shlex.join(["snakemake", *sys.argv[1:]]))


_REPORTED = set()


def report_failures(log) -> None:
    """Print each failed job with its one-line error (benchmark/failures.py). Snakemake may call onerror twice."""
    from benchmark import failures

    retire_board()
    for path in [log] if isinstance(log, (str, Path)) else list(log or []):
        text = failures.summary(path)
        if text and path not in _REPORTED:
            _REPORTED.add(path)
            print(f"\n{text}\nA step's whole output is in its log. Fix what the error names and run the same "
                  "command again: finished steps are kept, an interrupted pre-training resumes.", file=sys.stderr)


def retire_board() -> None:
    """A failed job's outputs are deleted by Snakemake; where the board showed them, the board no longer describes
    the results on disk, and Snakemake would not remake the missing file while the board is up to date ("Nothing to
    be done"). The board's files go too, so the next run makes the missing results and the board again."""
    made_from = every_metrics_file(None) + expand(rules.compare.output[0], task=EVAL_TASKS) + list(PLOTS.values())
    missing = [f for f in map(Path, made_from) if not f.exists()]
    if missing and Path(LEADERBOARD).exists():
        for f in BOARD.values():
            Path(f).unlink(missing_ok=True)
        print(f"\nThe board {LEADERBOARD} was removed: {len(missing)} of the files it was made from are gone (e.g. "
              f"{missing[0]}); the next run makes them and the board again.", file=sys.stderr)


def hash_of(*keys, method=None):
    """Parameter hash of the config parts a step depends on: a change re-runs exactly what it affects.
    The pretrain keys that change only the speed (threads, check_every) are left out."""
    parts = {k: config[k] for k in keys}
    if "pretrain" in parts:
        parts["pretrain"] = result_settings(parts["pretrain"])
    if method:
        parts["method"] = METHODS[method].config
    return config_hash(parts)


# ------------------------------------------------------------------------------------------------ inputs of rules
# Input functions have names the report shows on its rule pages (show_input_function_names, below).
def raw_download_markers(w):
    """The download markers of a dataset's PhysioNet parts (none for a local copy or a generated dataset)."""
    return physionet.download_inputs(config, w.dataset)


def shard_markers(w) -> list:
    """The shard markers a dataset prepared in shards waits for (none for the others)."""
    ds = config["datasets"][w.dataset]
    if ds["source"] not in bdata.SHARDED:
        return []
    folder = paths.results(config) / "data" / f"{w.dataset}.shards"
    return [folder / f"shard-{k}.json" for k in range(ds.get("shards", 64))]


# one process per shard: Snakemake runs --cores of them side by side (or each as its own SLURM job)
SHARD_THREADS = 1


def prepare_hash(w):
    """Parameters of a store; for a local copy of a PhysioNet source also what its files hold (an edited label or
    record rebuilds; a content-identical copy, wherever it lies, does not: benchmark.data.content). A download's
    files do not exist yet when the workflow is built: its download markers and metadata tables are inputs instead
    (raw_download_markers)."""
    ds = config["datasets"][w.dataset]
    parts = {"d": ds, "data": config["data"]}
    if ds["source"] in physionet.PHYSIONET and config.get(physionet.PHYSIONET[ds["source"]].config_key):
        parts["raw_files"] = raw_files(w.dataset)
    return config_hash(parts)


@functools.lru_cache(maxsize=None)
def raw_files(dataset: str) -> str:
    """A local copy's content fingerprint, listed once per workflow build (two rules of a sharded dataset ask)."""
    return physionet.raw_fingerprint(config, dataset)


def text_model_hash() -> str:
    """The text model's name and, for a local folder, what its files are: a model saved again into the same folder
    embeds the reports again (benchmark.text.model_identity)."""
    return config_hash(text.model_identity(config["pretrain"]["text_model"]))


def store_reports_and_weights(w):
    """The pre-training store, the report embeddings of a text method, and a published checkpoint's files."""
    spec = METHODS[w.method]
    inputs = [paths.dataset_dir(config, config["pretrain"]["dataset"]) / "meta.json"]
    if spec.cls.needs_text:
        inputs.append(paths.report_embeddings(config))
    return inputs + list(weights.files(config, spec).values())


def fetch_entry(w) -> dict:
    """The url and pinned SHA-256 of a file fetch_weights downloads."""
    method, name = w.fetched.split("/", 1)
    return METHODS[method].config["weights"]["files"][name]


def pretrain_gpu(w) -> int:
    """A published checkpoint is only loaded and exported: its job needs no turn on the GPU."""
    return 0 if METHODS[w.method].external else 1


def task_store(w):
    """The store of the task's dataset."""
    return paths.dataset_dir(config, config["tasks"][w.task]["dataset"]) / "meta.json"


def prompt_set_inputs(w) -> list:
    """The fetched prompt set a method's zero-shot uses (none for the class names; benchmark.evaluate.prompts)."""
    name = prompt_sets.set_of(config, w.method)
    return [] if name == prompt_sets.NAMES else [prompt_sets.file_of(config, name)]


def prompt_set_spec(w) -> dict:
    """What decides a zero-shot row's prompts: the set's pin and keys (a new pin or key re-runs the row)."""
    name = prompt_sets.set_of(config, w.method)
    return {"set": name, "spec": EVAL["prompt_sets"].get(name)}


def task_features(w):
    """The method's features of the task's dataset."""
    return paths.features(config, w.method, int(w.seed), config["tasks"][w.task]["dataset"])


BOOT = EVAL["bootstrap"]
FRACTIONS = {k: EVAL[k] for k in ("label_fractions", "fraction_draws", "subset_seed")}


def records_of(task: str) -> dict:
    """The parts of a task that decide its records and labels (not its title or prompt phrases)."""
    return {k: config["tasks"][task].get(k) for k in ("dataset", "label_set", "classes", "selection")}


EXPECTED = sorted(leaderboard.expected(config, list(METHODS), ZERO_SHOT, METHOD_SEEDS))


def test_scores_of_every_row(w):
    """The test scores of every method and seed on a task (what its paired comparisons resample)."""
    return [paths.predictions(config, kind, m, s, t) for kind, m, t, s in EXPECTED if t == w.task]


def every_metrics_file(w):
    """The metrics files the board is made of (the same list it checks for completeness)."""
    return [paths.metrics(config, kind, m, s, t) for kind, m, t, s in EXPECTED]


EVAL_TASKS = sorted(set(EVAL["linear_tasks"]) | set(EVAL["zeroshot_tasks"]))
PLOTS = plots.files(config)


def figure_caption(name: str) -> str:
    """Each figure's ⓘ text in the report (workflow/report/figure_*.rst); its caption is drawn under the figure."""
    return f"../report/figure_{plots.kind(name)}.rst"



def show_input_function_names() -> None:
    """Snakemake's report prints every input function on its rule pages as a literal "<function>"; print its name
    instead (e.g. "task_store()"), so a reader can find it here. Only the report's rendering changes."""
    try:
        from snakemake import report as smk_report
    except ImportError:
        return
    plain = getattr(smk_report, "render_iofile", None)
    if plain is None or getattr(plain, "names_functions", False):
        return

    def render(iofile):
        fn = getattr(iofile, "_file", iofile)
        name = getattr(fn, "__name__", "<lambda>")
        return f"{name}()" if callable(fn) and name != "<lambda>" else plain(iofile)

    render.names_functions = True
    smk_report.render_iofile = render


show_input_function_names()
