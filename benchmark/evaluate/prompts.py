"""Zero-shot prompt sets: which sentence stands for each class.

`names` (every row's default): the preset's template (`evaluation.prompt`, "this ECG indicates {}") around the
class's readable name (the store's, or the task's `prompt_names`). A preset may declare named sets of
descriptions (`evaluation.prompt_sets`), each a JSON object class key -> text fetched from a URL and checked
against its pinned SHA-256 (e.g. MERL's CKEPE descriptions, `zeroshot/CKEPE_prompt.json`: one string of
clinical phrases per class, used lower-cased and without a template, as MERL's zero-shot does), and say which
methods' rows use one (`evaluation.method_prompts`). A task whose classes the set does not all describe is
evaluated with `names` for that row, and the result says why; the board names the set of every row.
"""
from __future__ import annotations

import json
from pathlib import Path

from benchmark.errors import BenchmarkError, ConfigError

NAMES = "names"


def set_of(config: dict, method: str) -> str:
    """The prompt set a method's zero-shot rows use (`names` unless the preset says otherwise)."""
    name = config["evaluation"].get("method_prompts", {}).get(method, NAMES)
    if name != NAMES and name not in config["evaluation"].get("prompt_sets", {}):
        raise ConfigError(f"evaluation.method_prompts.{method} is {name!r}, which evaluation.prompt_sets does not "
                          f"define (defined: {sorted(config['evaluation'].get('prompt_sets', {}))})")
    return name


def file_of(config: dict, name: str) -> Path:
    """Where a fetched prompt set is kept (shared by presets, like the weights cache)."""
    return Path(config["cache_dir"]) / "prompts" / f"{name}.json"


def fetch(config: dict, name: str) -> Path:
    """Download set `name` into the cache (once; resumed; renamed into place only after its SHA-256 matched)."""
    from benchmark.data.download import download_file

    spec, dest = config["evaluation"]["prompt_sets"][name], file_of(config, name)
    dl = config["download"]
    outcome = download_file(spec["url"], dest, spec["sha256"], retries=dl["retries"], backoff=dl["backoff"],
                            timeout=dl["timeout"], pinned_by=f"evaluation.prompt_sets.{name}.sha256")
    print(f"prompt set {name}: {outcome} and verified ({dest})")
    return dest


def load(config: dict, name: str) -> dict[str, str]:
    path = file_of(config, name)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchmarkError(f"prompt set {name}: {path} is missing; run the workflow (it fetches it) or "
                             f"`python -m benchmark fetch-prompts --config <preset> --set {name}`") from None
    except (OSError, ValueError) as e:
        raise BenchmarkError(f"prompt set {name}: {path} is not a JSON object ({e}); delete it and fetch it again") \
            from None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise BenchmarkError(f"prompt set {name}: {path} must map class keys to strings")
    return table


def resolve(table: dict[str, str], classes: list[str], keys: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """class -> description: the task's `keys` entry for the class, else the class itself, else the class without
    underscores (PTB-XL's `_AVB`, `ISC_`, `NST_` are `AVB`, `ISC`, `NST` in CKEPE); and the classes left out."""
    found, missing = {}, []
    for c in classes:
        key = next((k for k in (keys.get(c), c, c.replace("_", "")) if k and k in table), None)
        if key is None:
            missing.append(c)
        else:
            found[c] = table[key]
    return found, missing


def prompts(config: dict, method: str, task_name: str, classes: list[str], names: dict[str, str]) -> dict:
    """{"set", "prompts" (one per class, in order), "note"}: the set the method's row uses for this task."""
    template = config["evaluation"]["prompt"]
    plain = {"set": NAMES, "prompts": [template.format(names[c]) for c in classes], "note": None}
    name = set_of(config, method)
    if name == NAMES:
        return plain
    spec = config["evaluation"]["prompt_sets"][name]
    found, missing = resolve(load(config, name), classes, spec.get("keys", {}).get(task_name, {}))
    if missing:
        return {**plain, "note": f"{name} describes no class {', '.join(missing)} of this task: class names used"}
    texts = [found[c].lower() if spec.get("lowercase", True) else found[c] for c in classes]
    return {"set": name, "prompts": texts, "note": None}
