"""Which module prepares each dataset source. One table read twice: the preparation imports the module it names
(benchmark.data.prepare), and the fingerprint of a dataset's preparation step covers that module
(benchmark.stepcode.source_module), so the two cannot drift apart. Imports nothing, so reading it costs nothing."""

# source name -> "module:function" preparing it: function(config, dataset name, output folder, threads)
SOURCES = {"synthetic": "benchmark.data.synthetic:prepare_synthetic",
           "ptbxl": "benchmark.data.ptbxl:prepare_ptbxl",
           "cpsc2018": "benchmark.data.cpsc2018:prepare_cpsc2018",
           "csn": "benchmark.data.csn:prepare_csn",
           "mimic_ecg": "benchmark.data.mimic:prepare_mimic"}  # the last of its three steps (index, shards, this)
# sources prepared in shards that the workflow schedules before the dataset's own prepare job
SHARDED = ("mimic_ecg",)
