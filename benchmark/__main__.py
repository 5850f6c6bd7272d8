"""`python -m benchmark <command>`: the steps every Snakemake rule calls (and that can be run by hand).

Each command is one function below, registered with its arguments by `@command`; it parses nothing itself and
calls one function, whose module it imports inside its body. That keeps a step's code its own: the fingerprint
of a workflow step (benchmark.stepcode) covers its command's function, what that function imports, and the
helpers here every command shares (`command`, `_config`, `main`), not the other commands.
"""
from __future__ import annotations

import argparse
import sys

COMMANDS: dict = {}  # name -> (function, required arguments, extra argparse arguments, help)


def command(name: str, *required: str, arguments: tuple = (), config: bool = True, help: str | None = None):
    """Register a command: `required` names its required options (--seed and --shard are integers); `arguments`
    adds (flags, argparse options) pairs; `config=False`: a command that takes no --config."""
    def register(fn):
        COMMANDS[name] = (fn, required, arguments, config, help)
        return fn
    return register


def _config(args):
    """The step's settings; the CPU kernels they name are pinned before the step computes anything (the workflow
    sets them for its jobs already; this covers a step run by hand)."""
    from benchmark import kernels
    from benchmark.config import load_config

    config = load_config(args.config)
    kernels.apply(config["kernels"])
    return config


@command("prepare", "dataset", "out")
def cmd_prepare(args):
    from benchmark import data

    data.prepare(_config(args), args.dataset, args.out, threads=args.threads)


# a dataset prepared in shards (MIMIC-IV-ECG): --out is the dataset's folder, as for prepare
@command("prepare-index", "dataset", "out")
def cmd_prepare_index(args):
    from benchmark.data.mimic import build_index

    build_index(_config(args), args.dataset, args.out)


@command("prepare-shard", "dataset", "shard", "out")
def cmd_prepare_shard(args):
    from benchmark.data.mimic import prepare_shard

    prepare_shard(_config(args), args.dataset, args.shard, args.out, threads=args.threads)


@command("download", "source", "part", "out")
def cmd_download(args):
    from benchmark.data.physionet import download_part

    download_part(_config(args), args.source, args.part, args.out)


@command("fetch-weights", "method", "file")
def cmd_fetch_weights(args):
    from benchmark import paths, weights
    from benchmark.method import load_method

    config = _config(args)
    weights.fetch(config, load_method(paths.method_folder(args.method, paths.methods_dir(config))), args.file)


@command("fetch-prompts", "set")
def cmd_fetch_prompts(args):
    from benchmark.evaluate.prompts import fetch

    fetch(_config(args), args.set)


@command("embed-reports", "out")
def cmd_embed_reports(args):
    from benchmark.text import embed_reports

    embed_reports(_config(args), args.out, args.threads)


@command("pretrain", "method", "seed", "out")
def cmd_pretrain(args):
    from benchmark.method import runnable
    from benchmark.pretrain import pretrain

    config = _config(args)
    pretrain(config, runnable(config, args.method), args.seed, args.out, args.threads)


@command("subsets", "task", "out")
def cmd_subsets(args):
    from benchmark.evaluate.steps.subsets import write_subsets

    write_subsets(_config(args), args.task, args.out)


@command("features", "method", "seed", "dataset", "out")
def cmd_features(args):
    from benchmark.evaluate.steps.features import extract_features

    extract_features(_config(args), args.method, args.seed, args.dataset, args.out, args.threads)


@command("linear", "method", "seed", "task", "features", "subsets", "out", "predictions")
def cmd_linear(args):
    from benchmark.evaluate.steps.linear import linear

    linear(_config(args), args.method, args.seed, args.task, args.features, args.subsets, args.out, args.predictions,
           args.threads)


@command("zeroshot", "method", "seed", "task", "out", "predictions")
def cmd_zeroshot(args):
    from benchmark.evaluate.steps.zeroshot import zeroshot

    zeroshot(_config(args), args.method, args.seed, args.task, args.out, args.predictions, args.threads)


@command("compare", "task", "out")
def cmd_compare(args):
    from benchmark.evaluate.steps.compare import write_stats

    write_stats(_config(args), args.task, args.out, args.threads)


@command("plots")
def cmd_plots(args):
    from benchmark.evaluate import plots

    written = plots.draw_preset(_config(args))
    print("figures: " + ", ".join(map(str, written)), file=sys.stderr)


@command("leaderboard")
def cmd_leaderboard(args):
    from benchmark import leaderboard

    config = _config(args)
    print(f"leaderboard of preset {config['preset']!r}: {leaderboard.write_preset(config)}", file=sys.stderr)


@command("publish")
def cmd_publish(args):
    from benchmark import leaderboard, paths

    config = _config(args)
    dest = leaderboard.publish(config)
    print(f"published {paths.leaderboard(config)} into {dest} (and docs/leaderboard/{config['preset']}/)",
          file=sys.stderr)


@command("verify", config=False, arguments=(
    ("--board", dict(default=None, help="a published board's leaderboard.json (default: the demo's)")),
    ("--method", dict(default=None, help="the method to re-run (default: ETP, else the board's first trained one)")),
    ("--seed", dict(type=int, default=None, help="its seed (default: the first)")),
    ("--scratch", dict(default=None, help="where the re-run writes (default: results/verify/<preset>_<method>_seed<seed>)")),
    ("--cores", dict(type=int, default=2, help="cores for the re-run's Snakemake")),
), help="re-run one method and seed of a published board from the raw data and compare every number bit for bit")
def cmd_verify(args):
    from benchmark.verify import DEFAULT_BOARD, verify

    if not verify(args.board or DEFAULT_BOARD, args.method, args.seed, args.scratch, args.cores):
        sys.exit(1)


@command("methods", arguments=(
    ("--check", dict(nargs="*", metavar="NAME", default=None,
                     help="build each named method folder (all when none is named) on a tiny batch and run one "
                          "training step, its backward pass and one optimiser step: seconds, no data needed")),))
def cmd_methods(args):
    from benchmark.method import describe

    config = _config(args) if args.config else None
    if args.check is None:
        print("\n".join(describe(config)))
        return
    from benchmark.method_check import check_methods

    print("\n".join(check_methods(config, args.check)))


@command("steps", arguments=(("--method", dict(default=None, help="a method folder's name, for its steps")),
                             ("--source", dict(default=None, help="a dataset source, for the preparation"))),
         help="which files each workflow step's code fingerprint covers (benchmark.stepcode)")
def cmd_steps(args):
    from benchmark.steps import describe_steps

    print("\n".join(describe_steps(_config(args) if args.config else None, args.method, args.source)))


@command("mirror", config=False, help="write a PhysioNet mirror of synthetic records (benchmark.data.mirror)",
         arguments=(
             ("--out", dict(required=True, help="a new or empty folder")),
             ("--ptbxl", dict(type=int, default=21799, help="PTB-XL records (default: all 21,799 of v1.0.3)")),
             ("--cpsc", dict(type=int, default=6877, help="CPSC2018 records (default: all 6,877)")),
             ("--seed", dict(type=int, default=0)),
             ("--workers", dict(type=int, default=None, help="processes (default: one per CPU)")),
             ("--csn", dict(type=int, default=0,
                            help="Chapman-Shaoxing-Ningbo records of MERL's split (default 0; all: 23,026)")),
             ("--mimic", dict(type=int, default=0, help="MIMIC-IV-ECG studies (default 0; real: about 800,000)")),
             ("--cpsc-original", dict(action="store_true", help="also write CPSC2018's original layout (A*.mat "
                                      "structs + REFERENCE.csv) in cpsc2018_original/"))))
def cmd_mirror(args):
    from benchmark.data.mirror import write_mirror

    write_mirror(args.out, args.ptbxl, args.cpsc, args.seed, args.workers, args.cpsc_original, n_csn=args.csn,
                 n_mimic=args.mimic)


@command("serve", config=False, help="serve a folder on 127.0.0.1 with HTTP Range support (benchmark.data.serve)",
         arguments=(("folder", dict()), ("--port", dict(type=int, default=0, help="0: any free port (printed)"))))
def cmd_serve(args):
    from benchmark.data.serve import serve_forever

    serve_forever(args.folder, args.port)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name, (fn, required, arguments, config, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_)
        sp.set_defaults(fn=fn)
        if config:
            sp.add_argument("--config", required=name not in ("methods", "steps"),
                            help="preset YAML or the resolved config JSON")
            sp.add_argument("--threads", type=int, default=None)
        for arg in required:
            sp.add_argument(f"--{arg}", required=True, type=int if arg in ("seed", "shard") else str)
        for flags, options in arguments:
            sp.add_argument(flags, **options)
    args = p.parse_args(argv)

    from benchmark.errors import BenchmarkError, storage_problem

    try:
        args.fn(args)
    except BenchmarkError as e:
        print(f"error ({args.command}): {e}", file=sys.stderr)
        return 2
    except Exception as e:
        problem = storage_problem(e, getattr(args, "out", None))
        if problem is None:
            raise  # a bug: the traceback is what its author needs
        print(f"error ({args.command}): {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
