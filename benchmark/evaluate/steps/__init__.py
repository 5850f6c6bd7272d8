"""The evaluation steps the workflow runs, one module each, so that each step's code is its own
(benchmark.stepcode reads a step's code from its imports): `python -m benchmark <step>` only parses arguments and
calls one of them.

  subsets    the label-fraction subsets of a task's train split
  features   frozen features of every record of a dataset
  linear     the linear probe of a task at every label fraction
  zeroshot   zero-shot classification of a task's test split
  compare    bootstrap CIs and paired tests between the methods of a task
  common     what they share: a task's records, a pre-training's log, the fields every metrics file records
  trained    a method as its pre-training step exported it (features and zero-shot)
"""
