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


def error_line(job_log: str | Path) -> str:
    """The line that says what went wrong: the step's `error (<step>): ...` line, else the last line of a
    traceback (`SomeError: ...`), else the last line written."""
    try:
        lines = [ln.strip() for ln in re.split(r"[\r\n]+", Path(job_log).read_text(errors="replace")) if ln.strip()]
    except OSError:
        return f"(no log at {job_log})"
    for pattern in (r"^error \(", r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b.*:"):
        found = [ln for ln in lines if re.match(pattern, ln)]
        if found:
            return found[-1]
    return lines[-1] if lines else "(the log is empty)"


def summary(snakemake_log: str | Path) -> str:
    jobs = failed_jobs(snakemake_log)
    if not jobs:
        return ""
    rows = [f"  {rule}: {error_line(log) if log else '(no log file)'}" + (f"\n    log: {log}" if log else "")
            for rule, log in jobs]
    return f"{len(jobs)} job(s) failed:\n" + "\n".join(rows)
