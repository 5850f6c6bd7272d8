"""Downstream evaluation (DESIGN.md, "Evaluation protocol"), one module per idea:

  tasks      a task's records, labels and splits; the label-fraction subsets of its train split
  linear     the linear probe (paper, Sec. 3.3), C selected on val, at every label fraction
  zeroshot   zero-shot classification (paper, Sec. 3.4), argmax of prompt cosines
  metrics    AUC / F1 / ACC on weighted records (a point estimate and each bootstrap resample alike)
  stats      bootstrap resamples shared by all methods, percentile CIs, paired comparisons
  compare    the paired tests between the methods of a task (against random init and the best row)
  encode     running a frozen network over store records
  prompts    the zero-shot prompts of a method (class names or a named, pinned prompt set)
  plots      the figures beside the leaderboard
  steps/     the workflow's evaluation steps, one module each (subsets, features, linear, zeroshot, compare)

Nothing is ever chosen on the test split: C on val, zero-shot by argmax, epochs fixed by the preset. This file
imports nothing: importing one module of the package runs its top level, and a step's code is what it imports
(benchmark.stepcode), so the features step must not pull in the linear probe through here.
"""
