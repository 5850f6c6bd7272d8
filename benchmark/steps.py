"""`python -m benchmark steps`: each workflow step, its code fingerprint and the files that fingerprint covers
(benchmark.stepcode). Kept apart from benchmark/stepcode.py, which every step's fingerprint covers: how the listing
is printed changes no step."""
from __future__ import annotations

from benchmark import paths
from benchmark.stepcode import METHOD_STEPS, SOURCE_STEPS, UNTRACKED, fingerprint, graph, method_folders


def describe_steps(config: dict | None, method: str | None, source: str | None) -> list[str]:
    """One line per workflow step (its rules and fingerprint), then the files its fingerprint covers."""
    g = graph()
    folder = paths.method_folder(method, paths.methods_dir(config or {})).resolve() if method else None
    lines = []
    for command in sorted({cmd for cmd, _ in g.rules.values()}):
        if command in UNTRACKED:
            lines.append(f"{command}: no fingerprint (what it fetches is checked against a pinned SHA-256)")
            continue
        if command in METHOD_STEPS and folder is None:
            lines.append(f"{command}: a step of one method (add --method NAME)")
            continue
        if command in SOURCE_STEPS and source is None:
            lines.append(f"{command}: a step of one dataset source (add --source NAME)")
            continue
        f = folder if command in METHOD_STEPS else None
        s = source if command in SOURCE_STEPS else None
        covered = [p.relative_to(g.root).as_posix() for p in g.files(command, f, s)]
        rules = sorted(name for name, (cmd, _) in g.rules.items() if cmd == command)
        lines.append(f"{command} (rule {', '.join(rules)}): {fingerprint(command, f, s)}")
        lines += [f"    {p}" for p in covered]
        lines += [f"    {d.relative_to(g.root) if d.is_relative_to(g.root) else d}/ (method folder)"
                  for d in (method_folders(f) if f else [])]
    return lines
