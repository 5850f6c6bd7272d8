"""ECG representation-learning benchmark (ETP, ICASSP 2024, and its Table 1 baselines)."""

__all__ = ["Method"]


def __getattr__(name: str):
    # `benchmark.Method` (the method contract) is imported on first use, so that steps which need no torch
    # (the linear probe, the leaderboard) start without loading it.
    if name == "Method":
        from benchmark.method import Method

        return Method
    raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
