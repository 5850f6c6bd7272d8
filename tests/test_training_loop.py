"""The shared training loop: resume after a kill reproduces an uninterrupted run; NaN stops clearly."""
import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from benchmark.data.store import write_store
from benchmark.errors import BenchmarkError, TrainingDiverged
from benchmark.method import load_method
from benchmark.pretrain import epoch_batches, pretrain, resume, save_checkpoint

METHOD = """
import torch
import benchmark

class Method(benchmark.Method):
    title = "Toy"
    calls = 0
    crash_at = None   # set by the test to simulate a killed run
    nan_at = None
    returns = "tensor"   # or "terms": a dict with the total and named terms; "no_total": a dict without it

    def training_step(self, batch):
        type(self).calls += 1
        if type(self).crash_at == type(self).calls:
            raise KeyboardInterrupt
        x = batch["ecg"] + 0.1 * torch.randn_like(batch["ecg"])  # uses the RNG the loop must restore
        loss = (self.encoder(x) - 1).pow(2).mean()
        if type(self).nan_at == type(self).calls:
            loss = loss * float("nan")
        if type(self).returns == "terms":
            return {"loss": loss, "half": loss / 2, "three": torch.tensor(3.0)}
        if type(self).returns == "no_total":
            return {"total": loss}
        return loss
"""


@pytest.fixture
def toy(tmp_path):
    rng = np.random.default_rng(0)
    n = 24
    recs = pd.DataFrame({"ecg_id": [str(i) for i in range(n)], "patient_id": [str(i // 2) for i in range(n)],
                         "split": ["train"] * 20 + ["val"] * 2 + ["test"] * 2, "labels": "NORM", "report": "x"})
    write_store(tmp_path / "results" / "data" / "toy", rng.normal(size=(n, 12, 64)).astype(np.float32), recs,
                {"sampling_rate": 100})
    folder = tmp_path / "methods" / "toy"
    folder.mkdir(parents=True)
    (folder / "method.py").write_text(METHOD)
    (folder / "config.yaml").write_text("optimizer: {name: adam, lr: 0.01}\nschedule: {name: cosine}\n")
    spec = load_method(folder)
    config = {"results_dir": str(tmp_path / "results"), "device": "cpu", "kernels": "portable", "amp": False,
              "datasets": {"toy": {"source": "synthetic"}}, "data": {},
              "pretrain": {"dataset": "toy", "text_model": "none", "epochs": 3, "batch_size": 8}}
    spec.cls.calls, spec.cls.crash_at, spec.cls.nan_at, spec.cls.returns = 0, None, None, "tensor"
    return config, spec, tmp_path


def test_epoch_batches_are_full_seeded_and_cover_each_record_at_most_once():
    a, b = epoch_batches(20, 8, seed=1, epoch=0), epoch_batches(20, 8, seed=1, epoch=0)
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    assert len(a) == 2 and all(len(x) == 8 for x in a)
    flat = np.concatenate(a)
    assert len(set(flat.tolist())) == 16
    assert [x.tolist() for x in epoch_batches(20, 8, 1, 1)] != [x.tolist() for x in a]


def test_killed_run_resumes_and_matches_an_uninterrupted_run(toy):
    config, spec, tmp = toy
    full = pretrain(config, spec, seed=0, out_dir=tmp / "full", threads=1)
    assert [e["epoch"] for e in full["loss_log"]] == [1, 2, 3]

    spec.cls.calls, spec.cls.crash_at = 0, 2 * 2 + 1  # 2 steps per epoch: die in the first step of epoch 3
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, spec, seed=0, out_dir=tmp / "resumed", threads=1)
    assert (tmp / "resumed" / "checkpoint.pt").exists()
    assert not (tmp / "resumed" / "train_log.json").exists()  # not taken for a finished run

    spec.cls.calls, spec.cls.crash_at = 0, None
    resumed = pretrain(config, spec, seed=0, out_dir=tmp / "resumed", threads=1)
    assert spec.cls.calls == 2  # only the last epoch was trained again
    assert [e["loss"] for e in resumed["loss_log"]] == pytest.approx([e["loss"] for e in full["loss_log"]], abs=1e-6)
    a, b = load_file(str(tmp / "full" / "model.safetensors")), load_file(str(tmp / "resumed" / "model.safetensors"))
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    assert not (tmp / "resumed" / "checkpoint.pt").exists()


def test_named_loss_terms_are_logged_per_epoch(toy):
    config, spec, tmp = toy
    spec.cls.returns = "terms"
    log = pretrain(config, spec, seed=0, out_dir=tmp / "terms", threads=1)["loss_log"]
    assert [sorted(e["terms"]) for e in log] == [["half", "three"]] * 3
    for e in log:  # each term is the mean over the epoch's steps, like the total
        assert e["terms"]["half"] == pytest.approx(e["loss"] / 2, rel=1e-6) and e["terms"]["three"] == 3.0
    spec.cls.returns = "no_total"
    with pytest.raises(BenchmarkError, match=r"methods/toy/method.py: training_step returned a dict without the "
                                             r"key 'loss' \(found \['total'\]\)"):
        pretrain(config, spec, seed=0, out_dir=tmp / "no_total", threads=1)


def test_throughput_counts_the_records_a_batch_holds(toy):
    """With fewer training records than the batch size (a small rehearsal of the paper preset: 80 records at batch
    128), a batch holds every record once; samples/s counted the configured batch instead and overstated it."""
    config, spec, tmp = toy
    config["pretrain"].update(epochs=1, batch_size=64)                         # 20 training records
    info = pretrain(config, spec, seed=0, out_dir=tmp / "short", threads=1)
    e = info["loss_log"][0]
    assert info["steps_per_epoch"] == 1 and spec.cls.calls == 1
    assert e["samples_per_second"] * e["epoch_seconds"] == pytest.approx(20, rel=0.02)


def test_nan_loss_stops_naming_method_and_epoch(toy):
    config, spec, tmp = toy
    spec.cls.nan_at = 3  # first step of epoch 2
    # the loss is read every check_every steps (default 50) and at the epoch's end, not after every step:
    # the error names the steps since the last check
    with pytest.raises(TrainingDiverged, match=r"method toy .*loss became nan at epoch 2, steps 1-2;"):
        pretrain(config, spec, seed=0, out_dir=tmp / "nan", threads=1)
    spec.cls.calls = 0
    config["pretrain"]["check_every"] = 1
    with pytest.raises(TrainingDiverged, match=r"method toy .*loss became nan at epoch 2, step 1;"):
        pretrain(config, spec, seed=0, out_dir=tmp / "nan1", threads=1)


def test_a_loss_broken_from_the_start_is_named_at_its_step_with_its_term_and_fitting_advice(toy):
    """The first epoch's first check_every steps are checked one by one: a NaN on step 1 is reported at step 1 (not
    "steps 1-2" at the epoch's end), with the non-finite term named; during warm-up the advice is not to lower an
    lr that is still climbing."""
    config, spec, tmp = toy
    spec.cls.nan_at, spec.cls.returns = 1, "terms"
    spec.config["schedule"] = {"name": "cosine", "warmup_epochs": 2}   # capped at a tenth of training: 0 steps here
    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 1, step 1; not finite: the term 'half' of "
                                               r"training_step's dict; likely causes: a log of 0, a division by zero"
                                               r".* or a learning rate too high \(optimizer.lr in methods/toy/"):
        pretrain(config, spec, seed=0, out_dir=tmp / "first", threads=1)
    config["pretrain"]["epochs"] = 20   # 40 steps: a warm-up of 4 (a tenth), step 1 inside it
    spec.cls.calls, spec.cls.nan_at = 0, 1
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, step 1; .*the learning rate is still warming up "
                                               r"\(0.005 of 0.01\), so it is not too high"):
        pretrain(config, spec, seed=0, out_dir=tmp / "warm", threads=1)


def test_untrained_method_exports_its_seeded_initialisation(toy, tmp_path):
    config, spec, tmp = toy
    config["pretrain"]["epochs"] = 0
    a = pretrain(config, spec, seed=5, out_dir=tmp / "s5a", threads=1)
    pretrain(config, spec, seed=5, out_dir=tmp / "s5b", threads=1)
    pretrain(config, spec, seed=6, out_dir=tmp / "s6", threads=1)
    assert a["epochs"] == 0 and spec.cls.calls == 0
    w = {d: load_file(str(tmp / d / "encoder.safetensors"))["stem.0.weight"] for d in ("s5a", "s5b", "s6")}
    assert torch.equal(w["s5a"], w["s5b"]) and not torch.equal(w["s5a"], w["s6"])


class _Payload:
    """Pickles to a call of os.system: what a tampered checkpoint could run if it were unpickled."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return os.system, (f"touch {self.marker}",)


def test_tampered_checkpoint_is_refused_not_executed(toy):
    config, spec, tmp = toy
    out = tmp / "tampered"
    out.mkdir()
    marker = tmp / "payload-ran"
    torch.save({"epoch": 1, "run_hash": "x", "evil": _Payload(marker)}, out / "checkpoint.pt")
    with pytest.raises(BenchmarkError, match=r"refusing to load the checkpoint .*checkpoint\.pt: it holds a "
                                             r"reference to posix\.system.*not unpickled\. Delete it"):
        pretrain(config, spec, seed=0, out_dir=out, threads=1)
    assert not marker.exists()


def test_resume_onto_a_gpu_reads_the_checkpoint_on_the_cpu_and_restores_both_generators(tmp_path, monkeypatch):
    """On a GPU, loading with map_location=<the GPU> moved the CPU generator's state there and set_rng_state
    raised. Here the training device is CUDA (mocked: this test needs no GPU): the checkpoint must be read on
    the CPU, the CPU generator restored from a CPU byte tensor, and the GPU generators from their saved state."""
    gpu_state = torch.arange(16, dtype=torch.uint8)
    restored = []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device=None: gpu_state.clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device=None: restored.append((state, device)))
    cuda = torch.device("cuda")

    def objects(seed):
        torch.manual_seed(seed)
        model = torch.nn.Linear(3, 2)
        opt = torch.optim.Adam(model.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5)
        return model, opt, sched

    model, opt, sched = objects(0)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    sched.step()
    torch.manual_seed(123)
    cpu_state = torch.get_rng_state()
    save_checkpoint(tmp_path / "checkpoint.pt", {"epoch": 2, "method": model.state_dict(), "optimizer": opt.state_dict(),
                                                 "scheduler": sched.state_dict(), "log": [{"epoch": 1}, {"epoch": 2}],
                                                 "run_hash": "h"}, cuda)

    fresh, fresh_opt, fresh_sched = objects(1)
    torch.manual_seed(999)
    log, start = resume(tmp_path / "checkpoint.pt", "h", fresh, fresh_opt, fresh_sched, cuda)
    assert start == 2 and [e["epoch"] for e in log] == [1, 2]
    assert torch.equal(fresh.weight, model.weight) and fresh_sched.last_epoch == sched.last_epoch
    assert torch.equal(torch.get_rng_state(), cpu_state)
    assert len(restored) == 1 and torch.equal(restored[0][0], gpu_state) and restored[0][1] == cuda
    assert restored[0][0].device.type == "cpu" and restored[0][0].dtype == torch.uint8
    # another configuration's checkpoint is not resumed
    assert resume(tmp_path / "checkpoint.pt", "other", fresh, fresh_opt, fresh_sched, cuda) == ([], 0)


def test_a_checkpoint_of_other_code_is_not_resumed(toy):
    """Killed, then the method's code is edited: the re-run starts afresh rather than continuing old-code weights
    under the new code's fingerprint."""
    config, spec, tmp = toy
    spec.cls.calls, spec.cls.crash_at = 0, 2 * 2 + 1
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, spec, seed=0, out_dir=tmp / "edited", threads=1)
    with open(spec.folder / "method.py", "a") as f:
        f.write("\nSCALE = 2\n")
    spec.cls.calls, spec.cls.crash_at = 0, None
    info = pretrain(config, spec, seed=0, out_dir=tmp / "edited", threads=1)
    assert spec.cls.calls == 3 * 2 and [e["epoch"] for e in info["loss_log"]] == [1, 2, 3]


def test_batch_reader_reads_ahead_the_rows_the_loop_asks_for():
    from benchmark.batches import BatchReader

    signals = np.arange(10 * 12 * 4, dtype=np.float32).reshape(10, 12, 4)
    rows = np.array([9, 7, 5, 3, 1])
    text = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    batches = [np.array([0, 2]), np.array([1, 4])]
    reader = BatchReader(signals, rows, torch.arange(10) * 10, batches, torch.device("cpu"), text, depth=1)
    got = list(reader)
    assert [b["ecg"].tolist() for b in got] == [signals[[9, 5]].tolist(), signals[[7, 1]].tolist()]
    assert [b["patient"].tolist() for b in got] == [[90, 50], [70, 10]]
    assert torch.equal(got[1]["text_emb"], torch.from_numpy(text[[7, 1]])) and reader.wait_seconds >= 0


def test_a_failing_read_is_raised_in_the_training_loop():
    from benchmark.batches import BatchReader

    reader = BatchReader(np.zeros((4, 12, 2), np.float32), np.arange(4), torch.arange(4),
                         [np.array([0, 1]), np.array([2, 9])], torch.device("cpu"))
    with pytest.raises(IndexError):
        list(reader)
