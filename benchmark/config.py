"""Preset configs: loading, schema validation (the same schema Snakemake validates with) and hashing."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import yaml

from benchmark.errors import ConfigError
from benchmark.io import stable_hash

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


class YamlLoader(yaml.SafeLoader):
    """YAML as people write numbers: `1e-4` is a number here, as in YAML 1.2 and JSON (PyYAML, which follows YAML
    1.1, reads it as the text "1e-4" unless it is written 1.0e-4, and a schema then refuses it)."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def yaml_load(text: str):
    return yaml.load(text, Loader=YamlLoader)


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = yaml_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of settings, found {type(data).__name__}")
    return data


def validate(config: dict, schema_path: str | Path | dict, where: str) -> dict:
    """Validate against a JSON schema (a YAML file, or the schema itself), filling in defaults; errors name the
    offending key."""
    import jsonschema

    schema = schema_path if isinstance(schema_path, dict) else read_yaml(schema_path)
    config = copy.deepcopy(config)
    validator_cls = jsonschema.validators.validator_for(schema)

    def set_defaults(validator, properties, instance, schema):  # the jsonschema FAQ's default-filling validator
        for prop, sub in properties.items():
            if isinstance(instance, dict) and "default" in sub:
                instance.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from validator_cls.VALIDATORS["properties"](validator, properties, instance, schema)

    filling = jsonschema.validators.extend(validator_cls, {"properties": set_defaults})
    errors = sorted(filling(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = [f"  {'.'.join(map(str, e.path)) or '(top level)'}: {_message(e)}{_hint(e)}" for e in errors[:10]]
        source = "its declared schema" if isinstance(schema_path, dict) else f"its schema ({schema_path})"
        raise ConfigError(f"{where} does not match {source}:\n" + "\n".join(lines))
    return config


def _message(error) -> str:
    """jsonschema's message, reworded where it names neither the key nor what to write instead."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        import difflib

        known = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in known]
        return "; ".join(f"unknown key {k!r}" + (f" (did you mean {close[0]!r}?)" if (
            close := difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)) else "") for k in unknown) + \
            f"; the keys allowed here: {', '.join(known)}"
    if error.validator == "uniqueItems":
        repeated = sorted({json.dumps(v) for i, v in enumerate(error.instance) if v in error.instance[:i]})
        return f"{error.instance} repeats {', '.join(repeated)}: list each value once"
    return error.message


def _hint(error) -> str:
    """A text where the schema wants a number, though it reads as one: say how to write it."""
    if error.validator == "type" and isinstance(error.instance, str) and set(_list(error.validator_value)) & {
            "number", "integer"}:
        try:
            float(error.instance)
        except ValueError:
            return ""
        return f" (write it as a number, without quotes: {float(error.instance)!r})"
    return ""


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


# Keys earlier versions accepted, with what replaced them (a plain schema error would not say).
REMOVED_KEYS = {
    ("leaderboard",): "every preset now writes its board to <results_dir>/leaderboard.md, and "
                      "`python -m benchmark publish` copies a finished one to the top-level leaderboard.md",
    ("pretrain", "epochs_per_method"): "every trained method now gets pretrain.epochs, i.e. the same optimiser "
                                       "steps, so that a table compares objectives rather than budgets",
}


def check_removed_keys(config: dict, where: str) -> None:
    for keys, why in REMOVED_KEYS.items():
        node = config
        for k in keys:
            node = node.get(k) if isinstance(node, dict) and k in node else None
            if node is None:
                break
        else:
            raise ConfigError(f"{where}: the key `{'.'.join(keys)}` is no longer used ({why}); remove it")


def check_references(config: dict) -> None:
    """Cross-key checks a JSON schema cannot express."""
    datasets, tasks = config["datasets"], config["tasks"]
    if config["pretrain"]["dataset"] not in datasets:
        raise ConfigError(f"pretrain.dataset is {config['pretrain']['dataset']!r}, which is not among datasets: "
                          f"{sorted(datasets)}")
    for name, task in tasks.items():
        if task["dataset"] not in datasets:
            raise ConfigError(f"tasks.{name}.dataset is {task['dataset']!r}, not among datasets: {sorted(datasets)}")
        if task.get("label_set") is None and task["classes"] == "all":
            raise ConfigError(f"tasks.{name}: `classes: all` needs a label_set (the classes of a dataset's default "
                              "labels are listed by name)")
        missing = [c for c in task["classes"] if c not in task.get("prompt_names", {})] \
            if task.get("label_set") is None else []  # a label set brings names for its classes
        if name in config["evaluation"]["zeroshot_tasks"] and missing:
            raise ConfigError(f"tasks.{name}.prompt_names lacks {missing}: zero-shot needs a phrase per class")
    sets = config["evaluation"].get("prompt_sets", {})
    for method, name in config["evaluation"].get("method_prompts", {}).items():
        if name != "names" and name not in sets:
            raise ConfigError(f"evaluation.method_prompts.{method} is {name!r}, which evaluation.prompt_sets does not "
                              f"define (defined: {sorted(sets)}; `names` = the class names)")
    if 1.0 not in [float(f) for f in config["evaluation"].get("label_fractions", [1.0])]:
        raise ConfigError("evaluation.label_fractions must include 1.0 (the paper's protocol, shown in Table 1)")
    for kind in ("linear_tasks", "zeroshot_tasks"):
        unknown = [t for t in config["evaluation"][kind] if t not in tasks]
        if unknown:
            raise ConfigError(f"evaluation.{kind} names {unknown}, which are not defined under tasks: {sorted(tasks)}")


def _schema_types(schema: dict) -> set[str]:
    """The JSON types a (sub)schema admits: its `type`, and those of its oneOf/anyOf branches and consts."""
    kind = schema.get("type")
    types = set(kind if isinstance(kind, list) else [kind] if kind else [])
    if "const" in schema:
        types.add("string" if isinstance(schema["const"], str) else type(schema["const"]).__name__)
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key, []):
            types |= _schema_types(branch)
    return types


def _child_schema(schema: dict, key: str) -> dict:
    if key in schema.get("properties", {}):
        return schema["properties"][key]
    if isinstance(schema.get("additionalProperties"), dict):
        return schema["additionalProperties"]
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        sub = _child_schema(branch, key)
        if sub:
            return sub
    return {}


def _typed(value, schema: dict):
    if isinstance(value, dict):
        return {k: _typed(v, _child_schema(schema, k)) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items") or next((b.get("items") for b in schema.get("oneOf", []) + schema.get("anyOf", [])
                                             if isinstance(b.get("items"), dict)), {})
        return [_typed(v, items) for v in value]
    if isinstance(value, str):
        types = _schema_types(schema)
        if types and "string" not in types:   # the schema wants a number, boolean or null here: read it as YAML
            try:
                parsed = yaml_load(value)
            except yaml.YAMLError:
                return value
            return value if isinstance(parsed, (str, dict, list)) else parsed
    return value


def typed_overrides(overrides: dict, schema_path: str | Path | dict = CONFIG_SCHEMA) -> dict:
    """`snakemake --config KEY=VALUE` values with the types the preset's schema gives their keys.

    Snakemake reads a VALUE that is a mapping or a list (`--config 'pretrain={epochs: 1}'`, `'seeds=[0,1]'`) as
    YAML text *without types*: every leaf arrives as a string, and the schema then refuses `'1'` where it wants an
    integer. A leaf string is read as YAML where the schema admits no string at that place (an integer, number,
    boolean or null); strings stay strings wherever the schema allows one. Top-level scalars are already typed by
    Snakemake and pass through unchanged."""
    schema = schema_path if isinstance(schema_path, dict) else read_yaml(schema_path)
    return _typed(dict(overrides), schema)


def load_config(path: str | Path, overrides: dict | None = None) -> dict:
    """A preset (YAML) or a resolved config (JSON written by the Snakefile), validated and complete."""
    path = Path(path)
    config = json.loads(path.read_text()) if path.suffix == ".json" else read_yaml(path)
    config.update(overrides or {})
    check_removed_keys(config, f"config {path}")
    config = validate(config, CONFIG_SCHEMA, f"config {path}")
    check_references(config)
    return config


# pretrain settings that change how fast a run goes, not what it computes: left out of every hash that decides
# whether a pre-training is re-run or a checkpoint resumed
SPEED_ONLY_PRETRAIN_KEYS = ("threads", "check_every", "read_threads")


def result_settings(pretrain: dict) -> dict:
    """The `pretrain` section without its speed-only keys."""
    return {k: v for k, v in pretrain.items() if k not in SPEED_ONLY_PRETRAIN_KEYS}


def config_hash(obj) -> str:
    return stable_hash(obj)


# The key under which the workflow adds a run's frozen method selection to its settings file
# (benchmark.method.run_settings); never part of a preset.
RUN_SELECTION = "run_selection"


# Keys that say where files lie, not what they hold: a local copy's content is fingerprinted (benchmark.data.content)
# and a download is checksummed, so the same data under another spelling of its path (relative, absolute, a trailing
# slash, another folder) is the same result.
LOCATION_KEYS = ("ptbxl_dir", "cpsc2018_dir", "csn_dir", "mimic_ecg_dir", "raw_dir", "cache_dir")


def placeless(settings: dict) -> dict:
    """`settings` without the keys that only say where data and caches lie (LOCATION_KEYS)."""
    return {k: v for k, v in settings.items() if k not in LOCATION_KEYS}


def preset_hash(config: dict) -> str:
    """Hash of a preset's settings, the same whether read from the preset or from a run's settings file, and
    wherever its data lie."""
    return config_hash({k: v for k, v in placeless(config).items() if k != RUN_SELECTION})
