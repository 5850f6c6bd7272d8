"""Random init: the paper's baseline row in Tables 1-3 (ETP, Sec. 3.3-3.4).

ETP's own network (shared ResNet18-1D + both projection heads) evaluated exactly as initialised, with no
pre-training: a floor that tells how much of a score comes from the architecture and the linear probe alone.
The class is ETP's, loaded from methods/etp, so the two rows cannot drift apart.
"""
from benchmark.method import METHODS_DIR, load_method

ETP = load_method(METHODS_DIR / "etp").cls


class Method(ETP):
    title = "Random init"
    paper = "untrained baseline (ETP, Tables 1-3)"

    def training_step(self, batch):
        raise RuntimeError("random_init is never trained: its config.yaml sets trains: false")
