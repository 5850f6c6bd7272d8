"""`python -m benchmark <command>`: the steps every Snakemake rule calls (and that can be run by hand).

Each command parses its arguments and calls one function; the work is in the modules named beside them.
"""
from __future__ import annotations

import argparse
import sys


def _config(args):
    from benchmark.config import load_config

    return load_config(args.config)


def cmd_prepare(args):
    from benchmark import data

    data.prepare(_config(args), args.dataset, args.out, threads=args.threads)


def cmd_prepare_index(args):
    from benchmark.data.mimic import build_index

    build_index(_config(args), args.dataset, args.out)


def cmd_prepare_shard(args):
    from benchmark.data.mimic import prepare_shard

    prepare_shard(_config(args), args.dataset, args.shard, args.out, threads=args.threads)


def cmd_download(args):
    from benchmark.data.physionet import download_part

    download_part(_config(args), args.source, args.part, args.out)


def cmd_fetch_weights(args):
    from benchmark import paths, weights
    from benchmark.method import load_method

    config = _config(args)
    weights.fetch(config, load_method(paths.method_folder(args.method, paths.methods_dir(config))), args.file)


def cmd_embed_reports(args):
    from benchmark.text import embed_reports

    embed_reports(_config(args), args.out, args.threads)


def cmd_pretrain(args):
    from benchmark.method import runnable
    from benchmark.pretrain import pretrain

    config = _config(args)
    pretrain(config, runnable(config, args.method), args.seed, args.out, args.threads)


def cmd_subsets(args):
    from benchmark.evaluate.steps import write_subsets

    write_subsets(_config(args), args.task, args.out)


def cmd_features(args):
    from benchmark.evaluate.steps import extract_features

    extract_features(_config(args), args.method, args.seed, args.dataset, args.out, args.threads)


def cmd_linear(args):
    from benchmark.evaluate.steps import linear

    linear(_config(args), args.method, args.seed, args.task, args.features, args.subsets, args.out, args.predictions,
           args.threads)


def cmd_zeroshot(args):
    from benchmark.evaluate.steps import zeroshot

    zeroshot(_config(args), args.method, args.seed, args.task, args.out, args.predictions, args.threads)


def cmd_fetch_prompts(args):
    from benchmark.evaluate.prompts import fetch

    fetch(_config(args), args.set)


def cmd_compare(args):
    from benchmark.evaluate.steps import write_stats

    write_stats(_config(args), args.task, args.out, args.threads)


def cmd_plots(args):
    from benchmark.evaluate import plots

    written = plots.draw_preset(_config(args))
    print("figures: " + ", ".join(map(str, written)), file=sys.stderr)


def cmd_leaderboard(args):
    from benchmark import leaderboard

    config = _config(args)
    print(f"leaderboard of preset {config['preset']!r}: {leaderboard.write_preset(config)}", file=sys.stderr)


def cmd_publish(args):
    from benchmark import leaderboard, paths

    config = _config(args)
    dest = leaderboard.publish(config)
    print(f"published {paths.leaderboard(config)} into {dest} (and docs/leaderboard/{config['preset']}/)",
          file=sys.stderr)


def cmd_mirror(args):
    from benchmark.data.mirror import write_mirror

    write_mirror(args.out, args.ptbxl, args.cpsc, args.seed, args.workers, args.cpsc_original, n_csn=args.csn,
                 n_mimic=args.mimic)


def cmd_serve(args):
    from benchmark.data.serve import serve_forever

    serve_forever(args.folder, args.port)


def cmd_methods(args):
    from benchmark.method import describe

    print("\n".join(describe(_config(args) if args.config else None)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, fn, *extra):
        sp = sub.add_parser(name)
        sp.set_defaults(fn=fn)
        sp.add_argument("--config", required=name != "methods", help="preset YAML or the resolved config JSON")
        sp.add_argument("--threads", type=int, default=None)
        for arg in extra:
            sp.add_argument(f"--{arg}", required=True, type=int if arg in ("seed", "shard") else str)
        return sp

    add("prepare", cmd_prepare, "dataset", "out")
    # a dataset prepared in shards (MIMIC-IV-ECG): --out is the dataset's folder, as for prepare
    add("prepare-index", cmd_prepare_index, "dataset", "out")
    add("prepare-shard", cmd_prepare_shard, "dataset", "shard", "out")
    add("download", cmd_download, "source", "part", "out")
    add("fetch-weights", cmd_fetch_weights, "method", "file")
    add("fetch-prompts", cmd_fetch_prompts, "set")
    add("embed-reports", cmd_embed_reports, "out")
    add("pretrain", cmd_pretrain, "method", "seed", "out")
    add("features", cmd_features, "method", "seed", "dataset", "out")
    add("subsets", cmd_subsets, "task", "out")
    add("linear", cmd_linear, "method", "seed", "task", "features", "subsets", "out", "predictions")
    add("zeroshot", cmd_zeroshot, "method", "seed", "task", "out", "predictions")
    add("compare", cmd_compare, "task", "out")
    add("plots", cmd_plots)
    add("leaderboard", cmd_leaderboard)
    add("publish", cmd_publish)
    add("methods", cmd_methods)
    sp = sub.add_parser("mirror", help="write a PhysioNet mirror of synthetic records (benchmark.data.mirror)")
    sp.set_defaults(fn=cmd_mirror)
    sp.add_argument("--out", required=True, help="a new or empty folder")
    sp.add_argument("--ptbxl", type=int, default=21799, help="PTB-XL records (default: all 21,799 of v1.0.3)")
    sp.add_argument("--cpsc", type=int, default=6877, help="CPSC2018 records (default: all 6,877)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--workers", type=int, default=None, help="processes (default: one per CPU)")
    sp.add_argument("--csn", type=int, default=0,
                    help="Chapman-Shaoxing-Ningbo records of MERL's split (default 0; all: 23,026)")
    sp.add_argument("--mimic", type=int, default=0, help="MIMIC-IV-ECG studies (default 0; real: about 800,000)")
    sp.add_argument("--cpsc-original", action="store_true",
                    help="also write CPSC2018's original layout (A*.mat structs + REFERENCE.csv) in cpsc2018_original/")
    sp = sub.add_parser("serve", help="serve a folder on 127.0.0.1 with HTTP Range support (benchmark.data.serve)")
    sp.set_defaults(fn=cmd_serve)
    sp.add_argument("folder")
    sp.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
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
