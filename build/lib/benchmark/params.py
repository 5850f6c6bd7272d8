"""A method's parameters: declared once in method.py, valued once in config.yaml, checked at start-up.

`Method.params_schema` maps every key of config.yaml `params` to the JSON schema of its value (shorthands
below). config.yaml must give every declared key (its value there is the one default) and no other, so a
misspelt key (`hiden_dim`) stops the workflow before any job starts, naming the folder and the key, instead of
leaving the method to train with a default. Method code then reads `cfg["key"]`, never `cfg.get(key, default)`.

    from benchmark import params as p

    class Method(benchmark.Method):
        params_schema = {"proj_dim": p.positive_int, "temperature": p.positive_number,
                         "augmentations": p.augmentations}
"""
from __future__ import annotations

import difflib
from pathlib import Path

from benchmark.errors import ConfigError

# Keys the training loop adds to `cfg` itself (benchmark.pretrain.build_method): no parameter may take their name.
RUN_FACTS = ("sampling_rate", "n_samples", "leads", "epochs", "steps_per_epoch", "text_dim", "weights")

positive_int = {"type": "integer", "minimum": 1}
non_negative_int = {"type": "integer", "minimum": 0}
positive_number = {"type": "number", "exclusiveMinimum": 0}
non_negative_number = {"type": "number", "minimum": 0}
probability = {"type": "number", "minimum": 0, "maximum": 1}
boolean = {"type": "boolean"}


def one_of(*values) -> dict:
    return {"enum": list(values)}


def either(*schemas) -> dict:
    return {"anyOf": list(schemas)}


def group(**fields) -> dict:
    """A nested mapping of parameters (e.g. `tc: {layers: 4, heads: 4}`): every field given, no other."""
    return {"type": "object", "properties": fields, "required": sorted(fields), "additionalProperties": False}


# a family name (`etp`, `simclr`) or a list of known augmentations with known arguments, checked by
# benchmark.augment.resolve (its errors name the entry and the closest valid spelling)
augmentations = {"$comment": "augmentations (benchmark.augment.resolve)"}


def check(folder: Path, params: dict, declared: dict) -> None:
    """Stop, naming the folder and the key, unless `params` (config.yaml) gives exactly the declared keys with
    values of the declared kinds."""
    from benchmark.config import validate

    where = f"{folder}/config.yaml"
    clash = sorted(set(declared) & set(RUN_FACTS))
    if clash:
        raise ConfigError(f"{folder}/method.py declares the parameter {clash[0]!r} in params_schema, a name the "
                          f"training loop gives a run fact ({', '.join(RUN_FACTS)}); rename it")
    listing = ", ".join(sorted(declared)) or "none"
    for key in sorted(set(params) - set(declared)):
        close = difflib.get_close_matches(key, list(declared), n=1)
        raise ConfigError(f"{where}: params.{key} is not a parameter of this method"
                          + (f" (did you mean {close[0]}?)" if close else "")
                          + f"; {folder}/method.py declares (params_schema): {listing}")
    missing = sorted(set(declared) - set(params))
    if missing:
        raise ConfigError(f"{where}: params lacks {', '.join(missing)}, declared by {folder}/method.py "
                          "(params_schema); give each its value in config.yaml, the one place parameter values live")
    from benchmark.augment import resolve

    for key, schema in declared.items():
        if schema == augmentations:
            resolve(params[key], f"{where}: params.{key}")
    validate({"params": params}, {"type": "object", "properties": {"params": group(**declared)}}, where)
