"""<Method name>: <paper title> (<authors>; <venue, year>), on the shared ResNet18-1D.

TEMPLATE: copy this folder to methods/<name>/ (a name without a leading "_"; this folder itself is never run),
then replace the objective below with your method's, citing the section of its paper behind each choice. As it
stands it is a complete, working two-view contrastive method (two augmented views, a projection head, NT-Xent),
so `python -m benchmark methods --check <name>` passes on the copy before you change anything.

The benchmark owns everything else: data, batching, optimiser and schedule (config.yaml), epochs and batch size
(the preset's, the same for every method), device, bf16 autocast on a GPU, checkpoints, export and evaluation.
"""
import torch
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose
from benchmark.losses import float32, nt_xent


class Method(benchmark.Method):
    title = "Template"                      # the row's name on the board
    paper = "Someone et al., Venue 2026"    # shown by `python -m benchmark methods`
    # every key of config.yaml `params` and the kind of its value (benchmark/params.py); read them as cfg["key"]
    params_schema = {"hidden_dim": p.positive_int, "proj_dim": p.positive_int, "temperature": p.positive_number,
                     "augmentations": p.augmentations}
    # needs_text = True    # to receive batch["text_emb"], the frozen report embeddings (cfg["text_dim"] wide)
    # zero_shot = True     # and implement embed_ecg / embed_text to get zero-shot rows

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)   # self.encoder: (B, 12, T) -> (B, encoder.out_dim); feature_map: (B, 512, T/16)
        self.augment = Compose.from_config(cfg["augmentations"], cfg["sampling_rate"])
        self.projector = nn.Sequential(nn.Linear(encoder.out_dim, cfg["hidden_dim"]), nn.ReLU(inplace=True),
                                       nn.Linear(cfg["hidden_dim"], cfg["proj_dim"]))
        self.temperature = cfg["temperature"]

    def settings(self):
        """Choices printed beside the row on the board."""
        return {"augmentations": self.augment.summary}

    def training_step(self, batch):
        """batch["ecg"] (B, 12, T), batch["patient"] (B,); return the loss, or {"loss": total, "<term>": value}
        to have every term's epoch mean logged in train_log.json."""
        x = batch["ecg"]
        z1 = self.projector(self.encoder(self.augment(x)))
        z2 = self.projector(self.encoder(self.augment(x)))
        return {"loss": nt_xent(z1, z2, self.temperature), "alignment": alignment(z1, z2).detach()}


@float32   # on a GPU the step runs under bf16 autocast: a loss of your own computes in float32 with this guard
def alignment(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity of the two views (logged only): an example of a loss term of your own."""
    return torch.nn.functional.cosine_similarity(z1, z2, dim=-1).mean()
