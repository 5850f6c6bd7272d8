"""SimCLR: A Simple Framework for Contrastive Learning of Visual Representations (Chen, Kornblith, Norouzi,
Hinton; ICML 2020), on the shared ResNet18-1D.

Two views of every ECG are drawn from one stochastic augmentation family (Sec. 2.1, Sec. 3), encoded by the
shared encoder f (h = f(x), the 512-d pooled representation used downstream) and mapped by a small MLP g to
the space where the NT-Xent loss over all 2N views is computed (Sec. 2.1, Eq. 1; Sec. 4.2: the loss works
better after g than on h, and h is what transfers).
"""
import torch
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose
from benchmark.losses import nt_xent


def batch_norm_without_shift(d: int) -> nn.BatchNorm1d:
    """BN with a learned scale and no learned shift: the authors' projection output layer (linear_layer with
    use_bn=True, center=False in model_util.py). The shift stays at zero and is never trained."""
    bn = nn.BatchNorm1d(d)
    bn.bias.requires_grad_(False)
    return bn


class Method(benchmark.Method):
    title = "SimCLR"
    paper = "Chen et al., ICML 2020"
    params_schema = {"hidden_dim": p.positive_int, "proj_dim": p.positive_int, "temperature": p.positive_number,
                     "augmentations": p.augmentations}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        # the augmentation family (`etp`: the ETP paper's protocol; `simclr`: Sec. 3's crop + "colour"
        # distortion, ECG analogues), or a list; see README.md
        self.augment = Compose.from_config(cfg["augmentations"], cfg["sampling_rate"])
        hidden = cfg["hidden_dim"]
        # Sec. 2.1: g(h) = W2 ReLU(W1 h), one hidden layer as wide as h, 128-d output (Sec. 4.2, Fig. 8);
        # batch norm after W1 and on the output (scale only) as in the authors' released implementation
        self.projector = nn.Sequential(nn.Linear(encoder.out_dim, hidden, bias=False), nn.BatchNorm1d(hidden),
                                       nn.ReLU(inplace=True), nn.Linear(hidden, cfg["proj_dim"], bias=False),
                                       batch_norm_without_shift(cfg["proj_dim"]))
        self.temperature = float(cfg["temperature"])

    def settings(self):
        return {"augmentations": self.augment.summary}

    def training_step(self, batch):
        x = batch["ecg"]
        n = x.shape[0]
        # Sec. 2.1: two independent draws t, t' ~ T per example. Both views share one forward pass, so the
        # batch-norm statistics cover all 2N views (Sec. 2.2, "Global BN": BN statistics over all views)
        z = self.projector(self.encoder(torch.cat([self.augment(x), self.augment(x)])))
        # Eq. 1: NT-Xent; each view's positive is its partner, the other 2(N - 1) views are its negatives
        # (benchmark.losses computes it in float32, also under bfloat16 autocast)
        return nt_xent(z[:n], z[n:], self.temperature)
