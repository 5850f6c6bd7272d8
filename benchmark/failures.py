"""What a failed workflow run prints last: each failed job with the one-line error it gave (the Snakefile's
onerror), read from Snakemake's own log and each job's log, so nobody has to dig through RuleException output."""
from __future__ import annotations

import re
from pathlib import Path

_BLOCK = re.compile(r"^Error in rule (\S+):\n((?:[ \t]+.*\n?)*)", re.M)
_LOG = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?$", re.M)
_JOBID = re.compile(r"^\s+jobid: (\d+)$", re.M)


def failed_jobs(snakemake_log: str | Path) -> list[tuple[str, str | None]]:
    """(rule, its log file or None) of every failed job named in a Snakemake log, once each, in order."""
    try:
        text = Path(snakemake_log).read_text(errors="replace")
    except OSError:
        return []
    seen, out = set(), []
    for match in _BLOCK.finditer(text):
        body = match.group(2)
        log, jobid = _LOG.search(body), _JOBID.search(body)
        key = (match.group(1), jobid.group(1) if jobid else body)
        if key not in seen:
            seen.add(key)
            out.append((match.group(1), log.group(1).strip() if log else None))
    return out


# a progress bar's line (tqdm: "epoch 2/2:   8%|▊    | 2/24 [00:01<...]"): never the error
_PROGRESS = re.compile(r"\d+%\|")


def error_line(job_log: str | Path) -> str:
    """The line that says what went wrong: the step's `error (<step>): ...` line (with the lines it introduces, when
    it ends with a colon, e.g. the bad records it counts), else the last line of a traceback (`SomeError: ...`);
    a log without either belongs to a step stopped from outside, and says so with its last line that is not a
    progress bar."""
    try:
        lines = [ln.strip() for ln in re.split(r"[\r\n]+", Path(job_log).read_text(errors="replace")) if ln.strip()]
    except OSError:
        return f"(no log at {job_log})"
    for pattern in (r"^error \(", r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b.*:"):
        found = [i for i, ln in enumerate(lines) if re.match(pattern, ln)]
        if found:
            i = found[-1]
            return " ".join(lines[i:i + 4]) if lines[i].endswith(":") else lines[i]
    said = [ln for ln in lines if not _PROGRESS.search(ln)]
    return ("no error in its log: the step was stopped from outside (killed for memory or by a signal, or its disk "
            "filled up while it wrote the log)" + (f"; its last line: {said[-1]}" if said else ""))


def summary(snakemake_log: str | Path) -> str:
    jobs = failed_jobs(snakemake_log)
    if not jobs:
        return ""
    rows = [f"  {rule}: {error_line(log) if log else '(no log file)'}" + (f"\n    log: {log}" if log else "")
            for rule, log in jobs]
    return f"{len(jobs)} job(s) failed:\n" + "\n".join(rows)
