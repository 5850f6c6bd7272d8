"""Errors that mean "the user must change something": the CLI prints them without a traceback."""


class BenchmarkError(RuntimeError):
    """A problem with the input, the config or a method folder, with a message that says what to do."""


class ConfigError(BenchmarkError):
    pass


class TrainingDiverged(BenchmarkError):
    pass


def storage_problem(e: BaseException, out: str | None = None) -> str | None:
    """A one-line description of a full, read-only or forbidden disk behind exception `e` (from Python, numpy,
    torch or safetensors, which word it differently), naming the file; None for anything else."""
    import errno

    text = str(e)
    code = getattr(e, "errno", None)
    where = getattr(e, "filename", None) or out or "the step's output"
    # torch.save words a refused write "basic_ios::clear: iostream error" or "unexpected pos N vs M" (its C++ writer)
    if code in (errno.ENOSPC, errno.EDQUOT) or any(s in text for s in (
            "No space left on device", "StorageFull", "file write failed", "Disk quota exceeded", "basic_ios::clear", "unexpected pos")):
        return (f"no space left on the device while writing {where}: free some space (or point results_dir / "
                "cache_dir elsewhere) and re-run the same command; finished steps are kept and an interrupted "
                "pre-training resumes from its last epoch")
    if code == errno.EROFS:
        return f"{where} is on a read-only file system: point results_dir / cache_dir at a writable folder"
    if code in (errno.EACCES, errno.EPERM) and isinstance(e, OSError):
        return (f"permission denied for {where}: give this user access to it (read access for an input such as a "
                "raw copy, write access for results_dir and cache_dir), or point the setting elsewhere")
    return None
