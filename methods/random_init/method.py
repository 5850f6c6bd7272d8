"""Random init: the paper's baseline row in Tables 1-3 (ETP, Sec. 3.3-3.4).

ETP's own network (shared ResNet18-1D + both projection heads) evaluated exactly as initialised, with no
pre-training: a floor that tells how much of a score comes from the architecture and the linear probe alone.
The class is ETP's, loaded from methods/etp, so the two rows cannot drift apart.
"""
from benchmark.method import METHODS_DIR, load_method

ETP = load_method(METHODS_DIR / "etp").cls


# ETP's options that only matter when training (the temperature's learnability, the ECG invariance term)
UNTRAINED = {"learnable_temperature": False, "ecg_ecg_weight": 0.0, "ecg_ecg_temperature": 0.07,
             "ecg_ecg_augmentations": []}


class Method(ETP):
    title = "Random init"
    paper = "untrained baseline (ETP, Tables 1-3)"
    # the architecture's parameters only (config.yaml); the rest of ETP's are fixed to their untrained values
    params_schema = {k: v for k, v in ETP.params_schema.items() if k not in UNTRAINED}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, {**cfg, **UNTRAINED})

    def training_step(self, batch):
        raise RuntimeError("random_init is never trained: its config.yaml sets trains: false")
