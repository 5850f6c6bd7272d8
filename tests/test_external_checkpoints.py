"""Published checkpoints compete: the two real folders (methods/merl_resnet18, methods/hubert_ecg) loaded from
small stand-in checkpoints of the releases' layouts (the real files cannot be downloaded here): checksums,
no unpickling, key mapping, strict loading with one clear error, features, and the features -> linear path.

Each test copies the real folder's method.py and config.yaml (the code under test) into a temporary methods
folder and points only its `weights.files` at the stand-in files."""
from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch
import yaml

from benchmark import paths
from benchmark.checkpoints import CheckpointError, load_published
from benchmark.config import load_config
from benchmark.inputs import InputAdapter, InputSpec
from benchmark.method import load_method, run_seeds, selection
from benchmark.pretrain import build_method
from benchmark.weights import WeightsError
from conftest import REPO, tiny_config_dict


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_folder(root, real: str, files: dict[str, dict], name: str | None = None):
    """methods/<real>/ copied to root/<name>, its weights.files replaced by `files`."""
    dest = root / (name or real)
    shutil.copytree(REPO / "methods" / real, dest)
    cfg = yaml.safe_load((dest / "config.yaml").read_text())
    cfg["weights"]["files"] = files
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def local(path) -> dict:
    return {"path": str(path), "sha256": sha256(path)}


def config_for(tmp_path, methods, **changes) -> dict:
    cfg = tiny_config_dict(tmp_path, methods=methods)
    cfg.update(methods_dir=str(tmp_path / "methods"), **changes)
    cfg["evaluation"].update(zeroshot_tasks=[], linear_tasks=["synth_ptbxl_super"])
    (tmp_path / "preset.yaml").write_text(yaml.safe_dump(cfg))
    return load_config(tmp_path / "preset.yaml")


# ------------------------------------------------------------------------------------------------ MERL layout
MIMIC_ORDER = ("I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6")


class MerlStyleBlock(torch.nn.Module):
    """A BasicBlock named as MERL's utils/resnet1d.py names its modules (written here from that description)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm1d(c_out)
        self.conv2 = torch.nn.Conv1d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm1d(c_out)
        self.shortcut = torch.nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = torch.nn.Sequential(torch.nn.Conv1d(c_in, c_out, 1, stride, bias=False),
                                                torch.nn.BatchNorm1d(c_out))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class MerlStyleResNet18(torch.nn.Module):
    """MERL's ResNet18 layout: conv1/bn1 stem without max-pool, layer1..layer4, an unused 10-class `linear`; the
    pooled features of layer4 are what its linear probe reads. Independent of the folder's key mapping, so a
    wrong mapping fails the comparison below."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(12, 64, 7, 2, 3, bias=False)
        self.bn1 = torch.nn.BatchNorm1d(64)
        c_in = 64
        for i, (c_out, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
            setattr(self, f"layer{i}", torch.nn.Sequential(MerlStyleBlock(c_in, c_out, stride),
                                                           MerlStyleBlock(c_out, c_out, 1)))
            c_in = c_out
        self.linear = torch.nn.Linear(512, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return x.mean(-1)


def merl_release() -> MerlStyleResNet18:
    """A MERL-layout network with non-default weights and BN statistics, in eval mode."""
    torch.manual_seed(7)
    net = MerlStyleResNet18()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
    return net.eval()


@pytest.fixture(params=["", "module."], ids=["as-released", "DataParallel-prefix"])
def merl(tmp_path, request):
    """(the MERL-layout network, its state dict saved as MERL saves it, with or without a `module.` prefix)."""
    source = merl_release()
    path = tmp_path / "res18_best_encoder.pth"
    torch.save({request.param + k: v for k, v in source.state_dict().items()}, path)
    return source, path


def merl_method(tmp_path, files):
    spec = load_method(copy_folder(tmp_path / "methods", "merl_resnet18", files))
    config = config_for(tmp_path, [spec.name])
    return spec, config, build_method(spec, config, InputSpec(100, 500))


def test_merl_checkpoint_maps_onto_the_shared_encoder(tmp_path, merl):
    source, path = merl
    spec, config, method = merl_method(tmp_path, {"res18_best_encoder.pth": local(path)})
    record = load_published(method, spec, config)
    assert record["res18_best_encoder.pth"]["sha256"] == sha256(path)
    # the declared input: 500 Hz, 10 s, aVF before aVL, min-max again; features = the encoder's pooled output
    assert method.input_spec == InputSpec(500, 5000, MIMIC_ORDER, "minmax")
    x = np.random.default_rng(0).random((3, 12, 500), dtype=np.float32)
    adapted = InputAdapter(InputSpec(100, 500), method.input_spec)(x)
    assert adapted.shape == (3, 12, 5000)
    standard = InputAdapter(InputSpec(100, 500), InputSpec(500, 5000))(x)
    swapped = InputAdapter(InputSpec(100, 500), InputSpec(500, 5000, MIMIC_ORDER))(x)
    assert np.array_equal(swapped[:, 4], standard[:, 5]) and np.array_equal(swapped[:, 5], standard[:, 4])
    method.eval()
    with torch.no_grad():
        feats = method.features(torch.from_numpy(adapted))
        assert feats.shape == (3, 512) == (3, method.feature_dim)
        assert torch.allclose(feats, source(torch.from_numpy(adapted)), atol=1e-5)


def test_tampered_pickle_is_refused_and_never_run(tmp_path, merl):
    class Payload:
        def __reduce__(self):
            import os
            return os.system, (f"touch {tmp_path / 'payload-ran'}",)

    _, path = merl
    state = torch.load(path, weights_only=True)
    state["evil"] = Payload()
    bad = tmp_path / "tampered.pth"
    torch.save(state, bad)
    spec, config, method = merl_method(tmp_path, {"res18_best_encoder.pth": local(bad)})
    with pytest.raises(CheckpointError, match=r"refusing to load the published checkpoint .*tampered\.pth: it holds "
                                              r"a reference to posix\.system.*It was not unpickled"):
        load_published(method, spec, config)
    assert not (tmp_path / "payload-ran").exists()


def test_wrong_checksum_stops_before_anything_reads_the_file(tmp_path, merl, monkeypatch):
    _, path = merl
    spec = load_method(copy_folder(tmp_path / "methods", "merl_resnet18", {
        "res18_best_encoder.pth": {"path": str(path), "sha256": "0" * 64}}))
    config = config_for(tmp_path, [spec.name])
    expected = (rf"methods/merl_resnet18: .*res18_best_encoder\.pth has SHA-256 {sha256(path)}, but "
                rf"weights.files.res18_best_encoder.pth.sha256 in .*merl_resnet18/config.yaml pins 0{{64}}")
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(WeightsError, match=expected):
        build_method(spec, config, InputSpec(100, 500))
    with pytest.raises(WeightsError, match=expected):   # and the workflow stops at start-up, not left out
        selection(config)


def test_key_mismatches_are_listed_in_one_error(tmp_path, merl):
    _, path = merl
    state = torch.load(path, weights_only=True)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    del state["layer1.0.bn1.weight"]                                   # missing
    state["layer2.0.conv1.weight"] = torch.zeros(128, 64, 5)           # wrong shape
    state["projection.weight"] = torch.zeros(4)                        # unexpected
    broken = tmp_path / "broken.pth"
    torch.save(state, broken)
    spec, config, method = merl_method(tmp_path, {"res18_best_encoder.pth": local(broken)})
    with pytest.raises(CheckpointError) as err:
        load_published(method, spec, config)
    msg = str(err.value)
    assert "methods/merl_resnet18: res18_best_encoder.pth" in msg and str(broken) in msg
    assert "1 key(s) of the model missing from the checkpoint: layers.0.0.bn1.weight" in msg
    assert "1 key(s) of the checkpoint unknown to the model: projection.weight" in msg
    assert "layers.1.0.conv1.weight checkpoint [128, 64, 5] vs model [128, 64, 3]" in msg
    assert "weights.keys" in msg


def test_a_dict_of_more_than_tensors_asks_for_the_entry_holding_them(tmp_path, merl):
    _, path = merl
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"epoch": 3, "model_state_dict": torch.load(path, weights_only=True)}, wrapped)
    spec, config, method = merl_method(tmp_path, {"res18_best_encoder.pth": local(wrapped)})
    with pytest.raises(CheckpointError, match=r"^methods/merl_resnet18: .*wrapped.pt holds entries that are not "
                                              r"tensors: 'epoch' \(int\), 'model_state_dict' \(dict\); set "
                                              r"weights.state_dict_key .*\(probably 'model_state_dict'\)"):
        load_published(method, spec, config)


def test_merl_features_then_linear_probe_through_the_steps(tmp_path, merl):
    """The whole path the workflow runs, in-process: prepare -> pretrain (loads the checkpoint) -> features ->
    subsets -> linear, with the provenance a leaderboard row needs."""
    from benchmark import data
    from benchmark.evaluate.steps.features import extract_features
    from benchmark.evaluate.steps.linear import linear
    from benchmark.evaluate.steps.subsets import write_subsets
    from benchmark.pretrain import pretrain

    source, path = merl
    copy_folder(tmp_path / "methods", "merl_resnet18", {"res18_best_encoder.pth": local(path)})
    config = config_for(tmp_path, "all", seeds=[0, 1])
    specs, left_out = selection(config)
    assert list(specs) == ["merl_resnet18"] and not left_out and run_seeds(config, specs["merl_resnet18"]) == [0]
    data.prepare(config, "synth_ptbxl", paths.dataset_dir(config, "synth_ptbxl"))
    info = pretrain(config, specs["merl_resnet18"], 0, paths.pretrain_dir(config, "merl_resnet18", 0), threads=1)
    assert info["steps"] == 0 and info["n_train_records"] is None
    assert info["external"]["files"]["res18_best_encoder.pth"]["sha256"] == sha256(path)
    assert info["input"].startswith("500 Hz, 10 s (5000 samples)")

    feats_path = paths.features(config, "merl_resnet18", 0, "synth_ptbxl")
    extract_features(config, "merl_resnet18", 0, "synth_ptbxl", feats_path, threads=1)
    feats = np.load(feats_path)["features"]
    store = data.load_store(paths.dataset_dir(config, "synth_ptbxl"))
    assert feats.shape == (len(store), 512)
    adapt = InputAdapter(InputSpec.of_store(store.meta, store.signals.shape[-1]),
                         InputSpec(500, 5000, MIMIC_ORDER, "minmax"))
    with torch.no_grad():
        direct = source(torch.from_numpy(adapt(store.signals[:4]))).numpy()
    assert np.allclose(feats[:4], direct, atol=1e-4)                    # the released weights, not a fresh init

    task = "synth_ptbxl_super"
    write_subsets(config, task, paths.subsets(config, task))
    out = paths.metrics(config, "linear", "merl_resnet18", 0, task)
    linear(config, "merl_resnet18", 0, task, feats_path, paths.subsets(config, task), out,
           paths.predictions(config, "linear", "merl_resnet18", 0, task))
    result = json.loads(out.read_text())
    assert 0 <= result["metrics"]["auc"] <= 1
    prov = result["provenance"]
    assert prov["pretrain_external"]["pretrained_on"].startswith("MIMIC-IV-ECG") and prov["pretrain_steps"] == 0
    # the code of every step the row rests on, each with its fingerprint and commit
    assert set(result["code"]) == {"prepare/synth_ptbxl", "pretrain/merl_resnet18", "features/merl_resnet18",
                                   "subsets/synth_ptbxl_super", "linear/merl_resnet18"}
    assert all(len(e["fingerprint"]) == 12 and e["commit"] for e in result["code"].values())


def test_folders_whose_weights_this_machine_lacks_are_left_out_saying_why(tmp_path):
    copy_folder(tmp_path / "methods", "merl_resnet18", {"res18_best_encoder.pth": {
        "page": "https://example.org/drive", "sha256": "1" * 64}})
    copy_folder(tmp_path / "methods", "hubert_ecg", {"model.safetensors": {
        "url": "https://example.org/model.safetensors", "sha256": None}})
    copy_folder(tmp_path / "methods", "hubert_ecg", {"model.safetensors": {
        "url": "https://example.org/model.safetensors", "sha256": "2" * 64}}, name="hubert_pinned")
    offline = config_for(tmp_path, "all")                               # the demo preset's download settings
    assert offline["download"]["weights"] is False
    specs, left_out = selection(offline)
    assert not specs and set(left_out) == {"merl_resnet18", "hubert_ecg", "hubert_pinned"}
    assert "put it by hand at" in left_out["merl_resnet18"] and "https://example.org/drive" in left_out["merl_resnet18"]
    assert "no SHA-256 is pinned for model.safetensors" in left_out["hubert_ecg"]
    assert "this preset downloads no weights" in left_out["hubert_pinned"]
    online = config_for(tmp_path, "all", download={"weights": True})   # as the paper preset: it downloads
    specs, left_out = selection(online)
    assert list(specs) == ["hubert_pinned"] and set(left_out) == {"merl_resnet18", "hubert_ecg"}
    with pytest.raises(Exception, match=r"names merl_resnet18, which cannot run on this machine: .*by hand"):
        selection(config_for(tmp_path, ["merl_resnet18"]))


# ------------------------------------------------------------------------------------------------ HuBERT-ECG
def tiny_hubert_release(folder, legacy_weight_norm: bool = False, prefix: str = ""):
    """A tiny HuBERT saved with save_pretrained, made to look like the Hub release: model_type and auto_map of the
    remote class, and its two pre-training heads in the state dict (keys under `prefix`, as the authors' newer
    package saves them, and/or with the weight norm's old names). Returns the reference HubertModel."""
    from safetensors.torch import load_file, save_file
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(3)
    config = HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                          conv_dim=[16] * 5, conv_kernel=[10, 3, 3, 2, 2], conv_stride=[4, 2, 2, 2, 2],
                          conv_bias=False, feat_extract_norm="group", num_conv_pos_embeddings=16,
                          num_conv_pos_embedding_groups=4, mask_time_prob=0.33, classifier_proj_size=8)
    model = HubertModel(config).eval()
    model.save_pretrained(folder)
    state = load_file(str(folder / "model.safetensors"))
    state["final_proj.0.weight"], state["final_proj.0.bias"] = torch.randn(8, 32), torch.randn(8)
    state["label_embedding.0.weight"] = torch.randn(100, 8)
    if legacy_weight_norm:
        for old, new in (("original0", "weight_g"), ("original1", "weight_v")):
            state[f"encoder.pos_conv_embed.conv.{new}"] = state.pop(f"encoder.pos_conv_embed.conv.parametrizations.weight.{old}")
    save_file({prefix + k: v for k, v in state.items()}, str(folder / "model.safetensors"))
    release = json.loads((folder / "config.json").read_text())
    release.update(model_type="hubert_ecg", architectures=["HuBERTECG"], ensemble_length=1, vocab_sizes=[100],
                   auto_map={"AutoConfig": "hubert_ecg.HuBERTECGConfig", "AutoModel": "hubert_ecg.HuBERTECG"})
    (folder / "config.json").write_text(json.dumps(release))
    return model


@pytest.mark.parametrize("legacy, prefix", [(False, ""), (True, ""), (False, "hubert_ecg.")],
                         ids=["as-released", "weight_g-weight_v", "package-prefix"])
def test_hubert_release_loads_without_remote_code_and_pools_the_last_layer(tmp_path, legacy, prefix):
    release = tmp_path / "release"
    reference = tiny_hubert_release(release, legacy, prefix)
    files = {"config.json": local(release / "config.json"), "model.safetensors": local(release / "model.safetensors")}
    spec = load_method(copy_folder(tmp_path / "methods", "hubert_ecg", files))
    config = config_for(tmp_path, [spec.name])
    stored = InputSpec(500, 5000)                                       # the paper preset's store
    method = build_method(spec, config, stored)
    load_published(method, spec, config)
    method.eval()
    assert method.input_spec == InputSpec(100, 500, normalisation="lead_range") and method.feature_dim == 32
    x = InputAdapter(stored, method.input_spec)(np.random.default_rng(1).normal(size=(2, 12, 5000)).astype(np.float32))
    assert x.shape == (2, 12, 500)
    with torch.no_grad():
        feats = method.features(torch.from_numpy(x))
        flat = torch.from_numpy(np.concatenate([x[:, i] for i in range(12)], axis=1))   # lead after lead
        expected = reference(input_values=flat).last_hidden_state.mean(1)
    assert feats.shape == (2, 32) and torch.allclose(feats, expected, atol=1e-5)


def test_hubert_missing_key_names_folder_file_and_key(tmp_path):
    from safetensors.torch import load_file, save_file

    release = tmp_path / "release"
    tiny_hubert_release(release)
    state = load_file(str(release / "model.safetensors"))
    del state["encoder.layers.1.final_layer_norm.bias"]
    save_file(state, str(release / "model.safetensors"))
    files = {"config.json": local(release / "config.json"), "model.safetensors": local(release / "model.safetensors")}
    spec = load_method(copy_folder(tmp_path / "methods", "hubert_ecg", files))
    config = config_for(tmp_path, [spec.name])
    method = build_method(spec, config, InputSpec(100, 500))
    with pytest.raises(CheckpointError, match=r"(?s)methods/hubert_ecg: model.safetensors .*1 key\(s\) of the model "
                                              r"missing from the checkpoint: encoder.layers.1.final_layer_norm.bias"):
        load_published(method, spec, config)


def test_the_shipped_hubert_architecture_is_the_small_release():
    """hubert_ecg_small.json builds the network the release describes: about 30 M parameters, 93 frames of 512
    for one 5 s, 12-lead, 100 Hz input, and the state-dict keys of transformers' HubertModel."""
    spec = load_method(REPO / "methods" / "hubert_ecg")
    cfg = {"weights": {"config.json": str(spec.folder / spec.config["weights"]["files"]["config.json"]["path"])}}
    encoder = spec.cls.build_encoder(cfg).eval()
    assert 29.5e6 < sum(p.numel() for p in encoder.parameters()) < 31e6
    with torch.no_grad():
        assert encoder(input_values=torch.zeros(1, 12 * 500)).last_hidden_state.shape == (1, 93, 512)
    keys = set(encoder.state_dict())
    assert {"masked_spec_embed", "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
            "feature_extractor.conv_layers.0.layer_norm.weight", "encoder.layers.7.final_layer_norm.bias"} <= keys
    assert not any(k.startswith(("final_proj", "label_embedding")) for k in keys)


def test_the_real_folders_declare_what_the_board_and_the_loader_need():
    merl, hubert = load_method(REPO / "methods" / "merl_resnet18"), load_method(REPO / "methods" / "hubert_ecg")
    for spec in (merl, hubert):
        assert spec.external and not spec.config["trains"] and spec.pretrained_on
        readme = (spec.folder / "README.md").read_text()
        for needed in ("Licence", "## Input", "## Features", "external"):
            assert needed in readme, (spec.name, needed)
    # the architecture file the HuBERT folder ships is the one its config pins
    entry = hubert.config["weights"]["files"]["config.json"]
    assert sha256(hubert.folder / entry["path"]) == entry["sha256"]
    assert hubert.config["weights"]["files"]["model.safetensors"]["url"].startswith(
        "https://huggingface.co/Edoardo-BS/hubert-ecg-small/resolve/")


# ------------------------------------------------------------------------------------------------ fetching
def test_fetch_resumes_verifies_and_says_where_to_put_the_file_by_hand(tmp_path, monkeypatch):
    """weights.fetch uses the PhysioNet downloader: an interrupted transfer is resumed with a Range request, the
    file gets its final name only once its checksum matched; a wrong checksum or an unreachable host stops with
    where to put the file by hand."""
    from benchmark import weights
    from benchmark.data.download import ChecksumMismatch, Unreachable
    from test_data_download import BASE, Server, make_tree

    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    blob = bytes(range(256)) * 4000
    base = make_tree(tmp_path / "www")
    (base / "hub").mkdir()
    (base / "hub" / "model.safetensors").write_bytes(blob)
    server = Server(tmp_path / "www").start()
    try:
        url = server.url + "hub/model.safetensors"
        good = hashlib.sha256(blob).hexdigest()
        spec = load_method(copy_folder(tmp_path / "methods", "hubert_ecg", {
            "model.safetensors": {"url": url, "sha256": good}}))
        config = config_for(tmp_path, "all", download={"weights": True, "retries": 1, "backoff": 0.01, "timeout": 5})
        server.cut_after[BASE + "hub/model.safetensors"] = 100_000             # the first transfer breaks off
        dest = weights.fetch(config, spec, "model.safetensors")
        assert dest == tmp_path / "cache" / "weights" / "hubert_ecg" / "model.safetensors"
        assert dest.read_bytes() == blob and not dest.with_name("model.safetensors.part").exists()
        ranges = server.file_requests("hub/model.safetensors")
        assert ranges == [None, "bytes=100000-"]
        assert weights.unavailable(config, spec) is None                 # now on this machine
        weights.fetch(config, spec, "model.safetensors")                 # present and verified: not fetched again
        assert len(server.file_requests("hub/model.safetensors")) == 2

        wrong = load_method(copy_folder(tmp_path / "methods", "hubert_ecg", {
            "model.safetensors": {"url": url, "sha256": "3" * 64}}, name="hubert_wrong"))
        with pytest.raises(ChecksumMismatch, match=r"methods/hubert_wrong: .*SHA-256 of the downloaded file is "
                                                   rf"{good}, but weights.files.model.safetensors.sha256 in "
                                                   r".*hubert_wrong/config.yaml says 3{64}") as err:
            weights.fetch(config, wrong, "model.safetensors")
        assert "by hand" not in str(err.value)       # the pin (or the release) changed: a copy by hand cannot help
        assert not (tmp_path / "cache" / "weights" / "hubert_wrong" / "model.safetensors").exists()
    finally:
        server.close()
    gone = load_method(copy_folder(tmp_path / "methods", "hubert_ecg", {
        "model.safetensors": {"url": url, "sha256": good}}, name="hubert_gone"))
    with pytest.raises(Unreachable, match=r"methods/hubert_gone: .*giving up after 2 attempts.*If this machine "
                                          r"cannot download it, put it by hand at"):
        weights.fetch(config, gone, "model.safetensors")


def test_key_rules_apply_in_their_order_and_refuse_collisions():
    from benchmark.checkpoints import map_keys

    t = torch.zeros(1)
    state = {"module.ecg_encoder.conv1.weight": t, "module.ecg_encoder.fc.bias": t, "module.proj_t.0.weight": t}
    rules = {"select": r"ecg_encoder\.", "strip_prefix": ["module.", "ecg_encoder."], "rename": {r"^conv1\.": "stem.0."},
             "drop": [r"^fc\."]}
    assert list(map_keys(state, rules)) == ["stem.0.weight"]          # the README's example
    with pytest.raises(CheckpointError, match=r"^methods/x/config.yaml weights.keys.strip_prefix 'module.' maps two "
                                              r"of the checkpoint's keys, 'module.a' and 'a', onto 'a'"):
        map_keys({"module.a": t, "a": t}, {"strip_prefix": ["module."]}, where="methods/x/config.yaml ")
    with pytest.raises(CheckpointError, match=r"select '\^ecg_encoder' matches none of the checkpoint's keys"):
        map_keys(state, {"select": "^ecg_encoder"})
