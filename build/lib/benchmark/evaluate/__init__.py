"""Downstream evaluation (DESIGN.md, "Evaluation protocol"), one module per idea:

  tasks      a task's records, labels and splits; the label-fraction subsets of its train split
  linear     the linear probe (paper, Sec. 3.3), C selected on val, at every label fraction
  zeroshot   zero-shot classification (paper, Sec. 3.4), argmax of prompt cosines
  metrics    AUC / F1 / ACC on weighted records (a point estimate and each bootstrap resample alike)
  stats      bootstrap resamples shared by all methods, percentile CIs, paired comparisons
  compare    the paired tests between the methods of a task (against random init and the best row)
  encode     running a frozen network over store records
  plots      the figures beside the leaderboard

Nothing is ever chosen on the test split: C on val, zero-shot by argmax, epochs fixed by the preset.
"""
from benchmark.evaluate.linear import linear_probe
from benchmark.evaluate.metrics import macro_auc, macro_f1
from benchmark.evaluate.tasks import TaskData, split_sizes, task_data
from benchmark.evaluate.zeroshot import zero_shot_metrics, zero_shot_scores

__all__ = ["TaskData", "linear_probe", "macro_auc", "macro_f1", "split_sizes", "task_data", "zero_shot_metrics",
           "zero_shot_scores"]
