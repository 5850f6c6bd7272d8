"""PTB-XL (Wagner et al., PhysioNet; v1.0.3 downloaded, any copy in PhysioNet's layout accepted).

Labels. A record's diagnostic superclasses are the `diagnostic_class` of every statement in its `scp_codes`
whose row of scp_statements.csv has `diagnostic == 1`, whatever the statement's likelihood (0 included; the
preset key `min_likelihood` can raise that floor). This is the rule of the PTB-XL benchmarking code that MERL's
split files were made with: on our v1.0.1 copy it reproduces MERL's `ptbxl_super_class_*.csv` ids, folds and
labels except for records PTB-XL changed after v1.0.1 (docs/data.md gives the counts). Records with no
diagnostic statement keep an empty label set: they pre-train but belong to no task.

Tasks select from these labels (benchmark.evaluate.task_data): the paper's task takes the records with exactly
one superclass, MERL's multi-label task every record with at least one.

Label sets of the PTB-XL benchmark (Strodthoff et al., IEEE JBHI 2021; its `compute_label_aggregations`) are
written beside them, each a column of records.csv, by the same rule (every listed statement, whatever its
likelihood): `super` (the 5 superclasses above, column `labels`), `sub` (the 23 `diagnostic_subclass` values of
the diagnostic statements), `form` (the 19 statements with form == 1), `rhythm` (the 12 with rhythm == 1) and
`all` (all 71 statements). A record without a statement of a set has no label in it and belongs to no task of
that set, as in the benchmark's `select_data` (min_samples = 0: no class is dropped). Counts per split are in
docs/data.md. Each class also gets a readable name for zero-shot prompts: the statement's `description`, or for
a subclass that is not itself a statement, its members' descriptions joined by "or" (a preset's
prompt_names can override any of them).

Split: the official stratified folds, 1-8 train, 9 val, 10 test (`strat_fold`).

Text: `report` (default) keeps the free-text report as recorded (about 71% German, 28% English, 1% Swedish);
`scp_statements` writes English text from the SCP-ECG statement descriptions of the record's codes instead
(note: that text names the diagnostic labels themselves). Pre-training reads the train split only.
"""
from __future__ import annotations

import ast
import math
import sys
import time
from pathlib import Path

import pandas as pd

from benchmark.data import physionet as pn
from benchmark.errors import BenchmarkError

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
DATABASE, STATEMENTS = "ptbxl_database.csv", "scp_statements.csv"
NATIVE_RATES = {"records100": 100, "records500": 500}
TEXT_SOURCES = ("report", "scp_statements")


def split_of_fold(fold: int) -> str:
    return "train" if fold <= 8 else ("val" if fold == 9 else "test")


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ptbxl_database.csv (indexed by ecg_id) and scp_statements.csv (indexed by statement code), checked cell by
    cell before any signal is read (check_metadata): a bad cell stops the run naming file, row, column and value."""
    root = Path(root)
    for name in (DATABASE, STATEMENTS):
        if not (root / name).exists():
            raise BenchmarkError(
                f"{root / name} not found: the PTB-XL folder must hold {DATABASE}, {STATEMENTS} and records100/ or "
                "records500/ as PhysioNet publishes them (set ptbxl_dir to such a folder, or leave it null to download)")
    db, st = _read_table(root / DATABASE, "ecg_id"), _read_table(root / STATEMENTS, 0)
    need_db = {"patient_id", "report", "scp_codes", "strat_fold", "filename_lr", "filename_hr"}
    need_st = {"diagnostic", "diagnostic_class"}
    if need_db - set(db.columns) or need_st - set(st.columns):
        raise BenchmarkError(f"{root}: PTB-XL metadata lacks columns {sorted((need_db - set(db.columns)) | (need_st - set(st.columns)))}")
    check_metadata(db, st, root)
    return db, st


RESTORE = "restore the file from PhysioNet (or set ptbxl_dir: null to download PTB-XL)"


def _read_table(path: Path, index) -> pd.DataFrame:
    try:
        return pd.read_csv(path, index_col=index)
    except UnicodeDecodeError as e:
        raise BenchmarkError(f"{path} is not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at offset {e.start}): "
                             f"{RESTORE}") from None
    except pd.errors.EmptyDataError:
        raise BenchmarkError(f"{path} is empty: {RESTORE}") from None
    except (ValueError, pd.errors.ParserError) as e:
        raise BenchmarkError(f"cannot parse {path}: {e}; {RESTORE}") from None


def _bad_cells(values: pd.Series, ok) -> list[tuple[object, object]]:
    """(row key, value) of every cell of `values` for which ok(value) is false."""
    return [(k, v) for k, v in values.items() if not ok(v)]


def _is_int(v, low=None, high=None) -> bool:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return False
    return math.isfinite(f) and f == int(f) and (low is None or low <= f <= high)


def check_metadata(db: pd.DataFrame, st: pd.DataFrame, root: Path) -> None:
    """Every cell the labels, splits and patients are read from: ecg_id a unique integer, strat_fold 1-10,
    patient_id a number or empty, and the statements' diagnostic/form/rhythm flags 1, 0 or empty. PhysioNet's
    files hold only such values; anything else would silently change labels or splits (a flag written `yes` would
    drop the statement from every label set), so the run stops naming the first bad cell and counting the rest."""
    def empty(v) -> bool:
        return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())

    checks = [
        (DATABASE, "ecg_id", pd.Series(db.index, index=db.index), lambda v: _is_int(v), "a whole number"),
        (DATABASE, "strat_fold", db["strat_fold"], lambda v: _is_int(v, 1, 10), "a fold number 1-10"),
        (DATABASE, "patient_id", db["patient_id"], lambda v: empty(v) or _is_int(v), "a number (or empty)"),
        *[(STATEMENTS, c, st[c], lambda v: empty(v) or _is_int(v, 0, 1), "1, 0 or empty")
          for c in ("diagnostic", "form", "rhythm") if c in st.columns],
    ]
    for file, column, values, ok, wanted in checks:
        bad = _bad_cells(values, ok)
        if bad:
            row = "ecg_id" if file == DATABASE else "statement"
            more = f" ({len(bad) - 1} more such cell(s) in that column)" if len(bad) > 1 else ""
            raise BenchmarkError(f"{root / file}: {row} {bad[0][0]}, column {column} holds {bad[0][1]!r}, which is not "
                                 f"{wanted}{more}; correct the cell, or {RESTORE}")
    repeated = db.index[db.index.duplicated()]
    if len(repeated):
        raise BenchmarkError(f"{root / DATABASE}: ecg_id {repeated[0]} appears {int((db.index == repeated[0]).sum())} "
                             f"times; each record must be listed once: {RESTORE}")


def parse_codes(text) -> dict[str, float]:
    value = ast.literal_eval(text) if isinstance(text, str) else {}
    if not isinstance(value, dict):
        raise ValueError(f"scp_codes is not a mapping: {text!r}")
    return {str(k): float(v) for k, v in value.items()}


LABEL_SETS = ("super", "sub", "form", "rhythm", "all")


def set_members(statements: pd.DataFrame) -> dict[str, dict[str, str]]:
    """label set -> {statement code: the class it counts as} (see the module docstring)."""
    diag = statements[pd.to_numeric(statements["diagnostic"]) == 1]
    return {"super": diag["diagnostic_class"].dropna().to_dict(),
            "sub": diag["diagnostic_subclass"].dropna().to_dict(),
            "form": {c: c for c in statements.index[pd.to_numeric(statements["form"]) == 1]},
            "rhythm": {c: c for c in statements.index[pd.to_numeric(statements["rhythm"]) == 1]},
            "all": {c: c for c in statements.index}}


def statement_labels(db: pd.DataFrame, statements: pd.DataFrame, min_likelihood: float = 0.0
                     ) -> tuple[dict[str, pd.Series], dict[int, str]]:
    """Each label set's classes per ecg_id (sorted tuples; super in SUPERCLASSES order), and the records whose
    codes cannot be used (unparsable scp_codes or a code missing from scp_statements.csv) with the reason."""
    members = set_members(statements)
    known = set(statements.index)

    def one(text):
        try:
            codes = parse_codes(text)
        except (ValueError, SyntaxError) as e:
            return None, f"unparsable scp_codes {str(text)[:80]!r} ({e})"
        unknown = sorted(set(codes) - known)
        if unknown:
            return None, f"unknown label code(s) {unknown} (not in {STATEMENTS})"
        kept = [c for c, lik in codes.items() if lik >= min_likelihood]
        out = {name: tuple(sorted({m[c] for c in kept if c in m})) for name, m in members.items()}
        out["super"] = tuple(c for c in SUPERCLASSES if c in out["super"])
        return out, None

    memo: dict = {}  # the same scp_codes string recurs thousands of times
    labels: dict[str, dict] = {name: {} for name in LABEL_SETS}
    problems = {}
    for ecg_id, text in db["scp_codes"].items():
        key = text if isinstance(text, str) else None
        if key not in memo:
            memo[key] = one(text)
        value, problem = memo[key]
        if problem:
            problems[ecg_id] = problem
        else:
            for name in LABEL_SETS:
                labels[name][ecg_id] = value[name]
    return {name: pd.Series(v, dtype=object) for name, v in labels.items()}, problems


def superclass_labels(db: pd.DataFrame, statements: pd.DataFrame, min_likelihood: float = 0.0
                      ) -> tuple[pd.Series, dict[int, str]]:
    """Superclass set per ecg_id (the paper's and MERL's labels), and the unusable records with the reason."""
    labels, problems = statement_labels(db, statements, min_likelihood)
    return labels["super"], problems


def class_names(statements: pd.DataFrame) -> dict[str, dict[str, str]]:
    """label set -> {class: readable name} for zero-shot prompts (see the module docstring)."""
    # PTB-XL's own English `description` (the SCP-ECG column reads "in anterior leads" for the ischemia statements)
    text = {c: str(d).strip() for c, d in statements["description"].items() if pd.notna(d)}
    out = {}
    for name, m in set_members(statements).items():
        classes = sorted(set(m.values()))
        out[name] = {c: text.get(c) or " or ".join(text[k] for k, v in m.items() if v == c and k in text) or c
                     for c in classes}
    return out


def statement_text(codes: dict[str, float], statements: pd.DataFrame) -> str:
    """English text from the SCP-ECG statement descriptions, most likely first."""
    column = "SCP-ECG Statement Description" if "SCP-ECG Statement Description" in statements.columns else "description"
    parts = [str(statements.at[c, column]) for c, _ in sorted(codes.items(), key=lambda kv: -kv[1])
             if c in statements.index and pd.notna(statements.at[c, column])]
    return "; ".join(parts)


def prepare_ptbxl(config: dict, name: str, out_dir: Path, threads: int | None = None) -> None:
    t0 = time.time()
    ds, data = config["datasets"][name], config["data"]
    key = pn.prepared_hash(config, name)
    if pn.up_to_date(out_dir, key):
        print(f"{name}: {out_dir} is already prepared with this configuration; nothing to do", file=sys.stderr)
        return
    root = pn.raw_root(config, "ptbxl")
    db, st = read_metadata(root)
    folder = pn.ptbxl_folder(ds, data["sampling_rate"])
    column = "filename_lr" if folder == "records100" else "filename_hr"
    policy = ds.get("bad_records", "error")
    text_source = ds.get("text", "report")

    sets, label_problems = statement_labels(db, st, ds.get("min_likelihood", 0.0))
    labels = sets["super"]
    problems = [(str(i), why) for i, why in label_problems.items()]
    pn.report_problems(name, problems, policy, f"datasets.{name}.bad_records")

    # Records listed in the metadata but absent on disk stop the run, or, when the preset allows a partial copy,
    # are skipped and counted.
    paths = {i: root / str(f) for i, f in db[column].items()}
    on_disk = [i for i in db.index if i not in label_problems and paths[i].with_suffix(".hea").exists()]
    missing = len(db) - len(label_problems) - len(on_disk)
    absent: dict[str, list[str]] = {}
    for i in sorted(set(db.index) - set(label_problems) - set(on_disk)):
        absent.setdefault(paths[i].parent.relative_to(root).as_posix(), []).append(str(i))
    if on_disk:
        pn.require_complete(name, ds, len(db), absent, root, "ptbxl_dir")
    if not on_disk:
        raise BenchmarkError(f"{name}: none of the {len(db)} PTB-XL records has its {folder}/ files under {root}; "
                             f"check ptbxl_dir (or the download) and datasets.{name}.records")

    spec = pn.SignalSpec(sampling_rate=data["sampling_rate"], n_samples=int(round(data["seconds"] * data["sampling_rate"])),
                         normalisation=data["normalisation"], crop=ds.get("crop", "start"), pad=ds.get("pad", "zero"),
                         max_nonfinite=ds.get("max_nonfinite", 0.01), expect_fs=(NATIVE_RATES[folder],),
                         expect_seconds=10.0)
    def tables(results, keep):
        sel = db.loc[on_disk]
        if text_source == "report":
            text = sel["report"].fillna("").astype(str).str.strip()
        else:
            text = pd.Series([statement_text(parse_codes(c), st) for c in sel["scp_codes"]], index=sel.index)
        names = class_names(st)
        records = pd.DataFrame({
            "ecg_id": [str(i) for i in sel.index],
            "patient_id": [str(int(p)) if pd.notna(p) else f"ecg{i}" for i, p in sel["patient_id"].items()],
            "split": [split_of_fold(int(f)) for f in sel["strat_fold"]],
            "labels": [";".join(labels[i]) for i in sel.index],
            **{f"labels_{n}": [";".join(sets[n][i]) for i in sel.index] for n in LABEL_SETS if n != "super"},
            "report": text.to_numpy(),
            "strat_fold": sel["strat_fold"].astype(int).to_numpy(),
            "scp_codes": sel["scp_codes"].astype(str).to_numpy(),
            "filename": sel[column].astype(str).to_numpy(),
        })
        meta = {
            "dataset": name, "source": "ptbxl", "title": ds.get("title", "PTB-XL"),
            "raw_dir": str(root), "signal_folder": folder, "native_rate": NATIVE_RATES[folder],
            "database_sha256": _sha(root / DATABASE),
            "sampling_rate": data["sampling_rate"], "seconds": data["seconds"],
            "normalisation": data["normalisation"], "crop": spec.crop, "pad": spec.pad,
            "classes": list(SUPERCLASSES),
            "label_sets": {n: {"column": "labels" if n == "super" else f"labels_{n}",
                               "classes": list(SUPERCLASSES) if n == "super" else sorted(names[n]),
                               "names": names[n]} for n in LABEL_SETS},
            "label_rule": "superclasses = diagnostic_class of every scp_codes statement with diagnostic == 1 in "
                          f"scp_statements.csv, likelihood >= {ds.get('min_likelihood', 0.0):g}",
            "split_rule": "strat_fold 1-8 train, 9 val, 10 test",
            "text_source": text_source,
            "text_description": TEXT_DESCRIPTIONS[text_source],
            "counts": {"with_superclass": int(sum(bool(labels[i]) for i, k in zip(on_disk, keep) if k))},
        }
        return records, meta

    pn.build_and_write(name, out_dir, [(paths[i], str(i)) for i in on_disk], spec, threads, policy, len(db), missing,
                       problems, key, t0, tables)


TEXT_DESCRIPTIONS = {
    "report": "PTB-XL free-text reports as recorded (about 71% German, 28% English, 1% Swedish), not translated",
    "scp_statements": "English SCP-ECG statement descriptions of each record's scp_codes (they name the labels)",
}


def _sha(path: Path) -> str:
    from benchmark.data.download import sha256_file

    return sha256_file(path)
