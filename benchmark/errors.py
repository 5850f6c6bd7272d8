"""Errors that mean "the user must change something": the CLI prints them without a traceback."""


class BenchmarkError(RuntimeError):
    """A problem with the input, the config or a method folder, with a message that says what to do."""


class ConfigError(BenchmarkError):
    pass


class TrainingDiverged(BenchmarkError):
    pass
