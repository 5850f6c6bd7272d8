"""The fault campaign of issue 32: each case (a bad value, a damaged file, a stopped step) applied to a fresh copy
of one finished run, then the workflow run as a user would; prints what the user reads last (the failure summary,
the start-up error, or what re-ran). Cases 7 and 15 mount a tmpfs / a read-only bind mount, so they need root.

    python scripts/fault_campaign.py [CASE ...]     # e.g. 1 3a 8a; none: every case (about 8 minutes on 2 cores)
"""
import os, re, shutil, subprocess, sys, time, signal
from pathlib import Path
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
CAMP = Path(os.environ.get("CAMPAIGN_DIR", "/tmp/campaign"))   # where each case runs
ZERO = CAMP.with_name(CAMP.name + ".finished")                    # the finished run each case starts from
S = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "preset.yaml",
     "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(CAMP)]

def build_finished_run():
    """The run every case starts from: a 299-record PTB-XL copy of ../shared/data, random_init and SimCLR, one
    seed, one epoch, the PTB-XL superclass task (linear and zero-shot); made once into ZERO."""
    import yaml

    sys.path.insert(0, str(REPO / "tests"))
    from test_data_ptbxl import mini_copy

    shutil.rmtree(CAMP, ignore_errors=True)
    CAMP.mkdir(parents=True)
    mini_copy(REPO.parent / "shared" / "data", CAMP, ids=range(1, 300))
    cfg = yaml.safe_load((REPO / "config" / "local.yaml").read_text())
    cfg.update(preset="campaign", results_dir=str(CAMP / "results"), cache_dir=str(CAMP / "cache"),
               ptbxl_dir=str(CAMP / "ptbxl"), cpsc2018_dir=None, methods=["random_init", "simclr"], seeds=[0])
    cfg["pretrain"].update(epochs=1)
    cfg["tasks"] = {"ptbxl_super": cfg["tasks"]["ptbxl_super"]}
    cfg["evaluation"].update(linear_tasks=["ptbxl_super"], zeroshot_tasks=["ptbxl_super"], c_grid=[0.1, 1.0])
    (CAMP / "preset.yaml").write_text(yaml.safe_dump(cfg))
    rc, out = run()
    if rc:
        sys.exit(f"the finished run could not be made:\n{out[-3000:]}")
    shutil.rmtree(ZERO, ignore_errors=True)
    subprocess.run(["cp", "-a", str(CAMP), str(ZERO)], check=True)

def restore():
    shutil.rmtree(CAMP, ignore_errors=True)
    subprocess.run(["cp", "-a", str(ZERO), str(CAMP)], check=True)

def run(*extra, timeout=900):
    p = subprocess.run(S + list(extra), cwd=CAMP, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr

def key_lines(out):
    """What a user reads last: the failure summary, a WorkflowError's lines, or the job counts."""
    lines = out.splitlines()
    keep = []
    for i, ln in enumerate(lines):
        if re.match(r"\s+\S+: (error \(|no error|[A-Za-z_.]*Error)", ln) or "cannot build the workflow" in ln \
                or ln.startswith("  seeds:") or ln.startswith("  (top level)") or ln.startswith("  pretrain.") \
                or "was removed" in ln or "no longer holds" in ln or "Nothing to be done" in ln \
                or ln.startswith("warning:") or "put back" in ln or "skipping" in ln:
            keep.append(ln.strip())
    m = re.search(r"Job stats:\n(.*?)\n\n", out, re.S)
    if m:
        jobs = [l.split() for l in m.group(1).splitlines()[2:]]
        keep.append("jobs: " + ", ".join(f"{j[0]} {j[1]}" for j in jobs if len(j) == 2))
    return keep

def edit_cell(path, key, column, value):
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    t.loc[t.iloc[:, 0] == key, column] = value
    t.to_csv(path, index=False)

results = []
def case(name, fn):
    restore()
    t0 = time.time()
    try:
        rc, lines = fn()
    except Exception as e:
        rc, lines = "EXC", [repr(e)]
    results.append((name, rc, lines, time.time() - t0))
    print(f"## {name} (rc {rc}, {time.time()-t0:.0f} s)", *lines, "", sep="\n", flush=True)

def simple(*extra, dry=False):
    def fn():
        rc, out = run(*(["-n"] if dry else []), *extra)
        return rc, key_lines(out)
    return fn

def after(prep, *extra, dry=False):
    def fn():
        prep()
        return simple(*extra, dry=dry)()
    return fn

P = CAMP / "ptbxl"
rec = lambda i: P / "records100" / "00000" / f"{i:05d}_lr"
model = CAMP / "results" / "pretrain" / "simclr" / "seed0" / "model.safetensors"
features = CAMP / "results" / "features" / "simclr" / "seed0" / "ptbxl.npz"

def truncate(path, n):
    with open(path, "r+b") as f:
        f.truncate(n)

def methods_copy(edit):
    dest = CAMP.parent / (CAMP.name + ".methods")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(REPO / "methods", dest)
    cfg = dest / "simclr" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("augmentations: etp", f"augmentations: {edit}"))
    return str(dest)

def nan_samples(rows: slice):
    """Record 2's lead AVR set to WFDB's "no sample" (NaN after decoding) over `rows`, the header's checksum
    refreshed to match, so that only the NaNs are unusual."""
    import numpy as np
    dat, hea = rec(2).with_suffix(".dat"), rec(2).with_suffix(".hea")
    d = np.fromfile(dat, dtype="<i2").reshape(1000, 12)
    d[rows, 3] = -32768
    d.tofile(dat)
    lines = hea.read_text().splitlines()
    fields = lines[4].split()
    fields[6] = str(int(d[:, 3].astype(np.int64).sum()) % 65536)
    lines[4] = " ".join(fields)
    hea.write_text("\n".join(lines) + "\n")

def non_utf8():
    db = P / "ptbxl_database.csv"
    data = db.read_bytes()
    i = data.index(b"sinusrhythmus")
    db.write_bytes(data[:i] + "sinusrhythmus \u00e4".encode("latin-1") + data[i + len(b"sinusrhythmus"):])

def killed():
    log = CAMP / "results" / "logs" / "pretrain" / "simclr_seed0.log"
    log.unlink()
    shutil.rmtree(CAMP / "results" / "pretrain" / "simclr" / "seed0" / ".finished")
    p = subprocess.Popen(S + ["--forcerun", str(CAMP / "results/pretrain/simclr/seed0/train_log.json")], cwd=CAMP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.time() + 300
    while time.time() < end and not (log.exists() and "%|" in log.read_text(errors="replace")):
        time.sleep(0.2)
    pids = subprocess.run(["pgrep", "-f", "benchmark pretrain .*--method simclr"], capture_output=True, text=True).stdout.split()
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    out = p.communicate(timeout=600)[0]
    return p.returncode, key_lines(out)

def readonly():
    subprocess.run(["mount", "--bind", str(CAMP / "results"), str(CAMP / "results")], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(CAMP / "results")], check=True)
    try:
        (CAMP / "ptbxl" / "ptbxl_database.csv").touch()   # nothing to do otherwise
        edit_cell(P / "ptbxl_database.csv", "1", "report", "sinusrhythmus normales ekg (edited)")
        rc, out = run()
        return rc, key_lines(out)
    finally:
        subprocess.run(["umount", str(CAMP / "results")])

def full_disk():
    fs = CAMP.parent / (CAMP.name + ".fullfs")
    fs.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", str(fs)], check=True)
    try:
        target = str(fs / "results" / "pretrain" / "simclr" / "seed0" / "train_log.json")
        rc, out = run("--config", f"results_dir={fs}/results", "--", str(fs / "results" / "data" / "ptbxl" / "meta.json"))
        free = shutil.disk_usage(fs).free
        (fs / "filler").write_bytes(b"\0" * (free - 3_000_000))
        rc, out = run("--config", f"results_dir={fs}/results", "--", target)
        return rc, key_lines(out)
    finally:
        subprocess.run(["umount", "-l", str(fs)])

def few_nan_case():
    import json
    nan_samples(slice(100, 105))
    rc, out = run()
    meta = json.loads((CAMP / "results" / "data" / "ptbxl" / "meta.json").read_text())
    return rc, key_lines(out) + [f"store: nonfinite_samples_fixed = {meta['counts'].get('nonfinite_samples_fixed')}"]

CASES = {
 "1 seeds=[0,0]": simple("--config", "seeds=[0,0]"),
 "2 scp_statements.csv NORM diagnostic=yes": after(lambda: edit_cell(P / "scp_statements.csv", "NORM", "diagnostic", "yes")),
 "3a model.safetensors truncated in place, then --forcerun pretrain": after(lambda: truncate(model, 100), "--forcerun", "pretrain"),
 "3b model.safetensors truncated in place, then the same command": after(lambda: truncate(model, 100)),
 "3c model.safetensors truncated in place, then --forcerun features": after(lambda: truncate(model, 100), "--forcerun", "features"),
 "4a ptbxl_dir relative (ptbxl)": simple("--config", "ptbxl_dir=ptbxl", dry=True),
 "4b ptbxl_dir with a trailing slash": simple("--config", f"ptbxl_dir={P}/", dry=True),
 "5a strat_fold=x on ecg_id 2": after(lambda: edit_cell(P / "ptbxl_database.csv", "2", "strat_fold", "x")),
 "5b patient_id=abc on ecg_id 2": after(lambda: edit_cell(P / "ptbxl_database.csv", "2", "patient_id", "abc")),
 "6a simclr augmentations: [jitterr]": lambda: simple("--config", f"methods_dir={methods_copy('[jitterr]')}", dry=True)(),
 "6b simclr augmentations: [gaussian_noise]": lambda: simple("--config", f"methods_dir={methods_copy('[gaussian_noise]')}", dry=True)(),
 "7 full disk while pre-training": full_disk,
 "8a features .npz truncated": after(lambda: truncate(features, 1000)),
 "9a a record's .dat truncated": after(lambda: truncate(rec(2).with_suffix(".dat"), 10000)),
 "9b pre-training killed (SIGKILL) mid-epoch": killed,
 "9c unknown --config key pretrian=3": simple("--config", "pretrian=3", dry=True),
 "10 pretrain epochs: 0": simple("--config", "pretrain={epochs: 0}", dry=True),
 "11 a record's .hea truncated": after(lambda: truncate(rec(3).with_suffix(".hea"), 40)),
 "12 a record with a whole lead of NaN samples": after(lambda: nan_samples(slice(None))),
 "12b a record with 5 NaN samples in one lead": lambda: few_nan_case(),
 "13 non-UTF-8 report in ptbxl_database.csv": after(non_utf8),
 "14 empty ptbxl_database.csv": after(lambda: (P / "ptbxl_database.csv").write_text("")),
 "15 read-only results folder (an edited report, so steps must write)": readonly,
}
only = sys.argv[1:]
if not ZERO.exists():
    build_finished_run()
for name, fn in CASES.items():
    if not only or any(name.startswith(o + " ") or name.split()[0] == o for o in only):
        case(name, fn)
restore()
