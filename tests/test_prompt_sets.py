"""Named zero-shot prompt sets (benchmark/evaluate/prompts.py): fetched over the loopback server against a pinned
SHA-256, keys resolved per task, a set that lacks a class falls back to the class names and says so, the zero-shot
step scores the chosen texts, and the board names the set of every row."""
import hashlib
import json

import pytest

from benchmark.config import load_config
from benchmark.data.download import ChecksumMismatch
from benchmark.data.serve import serve
from benchmark.errors import ConfigError
from benchmark.evaluate import prompts
from benchmark.leaderboard.tables import _prompt_sets
from conftest import REPO

TABLE = {"NORM": "Normal ECG, Sinus rhythm", "AFIB": "Atrial Fibrillation, irregular RR", "CLBBB": "LBBB, wide QRS",
         "AVB": "atrioventricular block, long PR", "STE": "ST elevation"}


pytestmark = pytest.mark.usefixtures("loopback_only")


def config_with(tmp_path, url: str, sha: str) -> dict:
    cfg = load_config(REPO / "config" / "config.yaml", {"cache_dir": str(tmp_path / "cache")})
    cfg["evaluation"]["prompt_sets"]["ckepe"].update(url=url, sha256=sha)
    cfg["download"].update(retries=1, backoff=0.01, timeout=5)
    return cfg


def test_fetched_against_its_pin_and_resolved_per_task(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    raw = json.dumps(TABLE).encode()
    (www / "CKEPE_prompt.json").write_bytes(raw)
    with serve(www) as url:
        cfg = config_with(tmp_path, url.rstrip("/") + "/CKEPE_prompt.json", hashlib.sha256(raw).hexdigest())
        path = prompts.fetch(cfg, "ckepe")
        assert path == prompts.file_of(cfg, "ckepe") and path.read_bytes() == raw
        bad = config_with(tmp_path / "other", cfg["evaluation"]["prompt_sets"]["ckepe"]["url"], "0" * 64)
        with pytest.raises(ChecksumMismatch):
            prompts.fetch(bad, "ckepe")
        assert not prompts.file_of(bad, "ckepe").exists()     # nothing unverified is kept under the final name
    names = {"Normal": "normal ECG", "AF": "atrial fibrillation", "LBBB": "left bundle branch block"}
    # MERL's row: the CPSC2018 keys of the paper preset (Normal -> NORM, AF -> AFIB, LBBB -> CLBBB), lower-cased
    got = prompts.prompts(cfg, "merl", "cpsc2018", ["Normal", "AF", "LBBB"], names)
    assert got == {"set": "ckepe", "prompts": ["normal ecg, sinus rhythm", "atrial fibrillation, irregular rr",
                                               "lbbb, wide qrs"], "note": None}
    # PTB-XL's `_AVB` is CKEPE's `AVB`
    assert prompts.resolve(TABLE, ["_AVB", "STE"], {}) == ({"_AVB": TABLE["AVB"], "STE": "ST elevation"}, [])
    # a class the set does not describe: the row keeps the class names in the template, and says why
    got = prompts.prompts(cfg, "merl", "cpsc2018", ["Normal", "PVC"], {"Normal": "normal ECG", "PVC": "PVC"})
    assert got["set"] == "names" and got["prompts"] == ["this ECG indicates normal ECG", "this ECG indicates PVC"]
    assert "describes no class PVC" in got["note"]
    # every other method: the class names
    assert prompts.prompts(cfg, "etp", "cpsc2018", ["Normal"], names)["prompts"] == ["this ECG indicates normal ECG"]


def test_an_undefined_set_is_refused_at_start_up(tmp_path):
    import yaml

    preset = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    preset["evaluation"]["method_prompts"] = {"merl": "kepe"}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(preset))
    with pytest.raises(ConfigError, match="method_prompts.merl is 'kepe', which evaluation.prompt_sets does not define"):
        load_config(path)


def test_board_names_the_prompt_set_of_every_row():
    class Board:
        config = {"evaluation": {"prompt_sets": {"ckepe": {"title": "MERL's CKEPE descriptions"}}}}
        titles = {"etp": "ETP", "merl": "MERL", "random_init": "Random init"}
        results = {("zeroshot", "etp", "t"): [{"metrics": {"prompt_set": "names"}}],
                   ("zeroshot", "random_init", "t"): [{"metrics": {}}],       # a result written before sets existed
                   ("zeroshot", "merl", "t"): [{"metrics": {"prompt_set": "ckepe", "prompt_note": None}}] * 2}

    assert _prompt_sets(Board, "t", ["random_init", "etp", "merl"]) == (
        "Prompts per row: class names: Random init, ETP; ckepe (MERL's CKEPE descriptions): MERL.")
