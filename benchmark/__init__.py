"""ECG representation-learning benchmark (ETP, ICASSP 2024, and its Table 1 baselines)."""
from benchmark.method import Method

__all__ = ["Method"]
