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
from benchmark.augment import Compose
from benchmark.losses import nt_xent


class Method(benchmark.Method):
    title = "SimCLR"
    paper = "Chen et al., ICML 2020"

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        # Sec. 3: a crop composed with a "colour" distortion is what makes the task hard enough; the ECG
        # analogues (resized time crop; gain, noise, baseline wander, lead drop) and strengths are in config.yaml
        self.augment = Compose.from_config(cfg["augmentations"], cfg["sampling_rate"])
        hidden = cfg.get("hidden_dim") or encoder.out_dim
        # Sec. 2.1: g(h) = W2 ReLU(W1 h), one hidden layer as wide as h, 128-d output (Sec. 4.2, Fig. 8);
        # batch norm after W1 as in the authors' released implementation
        self.projector = nn.Sequential(nn.Linear(encoder.out_dim, hidden, bias=False), nn.BatchNorm1d(hidden),
                                       nn.ReLU(inplace=True), nn.Linear(hidden, cfg["proj_dim"]))
        self.temperature = float(cfg["temperature"])

    def training_step(self, batch):
        x = batch["ecg"]
        n = x.shape[0]
        # Sec. 2.1: two independent draws t, t' ~ T per example. Both views share one forward pass, so the
        # batch-norm statistics cover all 2N views (Sec. 2.2, "Global BN": BN statistics over all views)
        z = self.projector(self.encoder(torch.cat([self.augment(x), self.augment(x)])))
        # Eq. 1: NT-Xent; each view's positive is its partner, the other 2(N - 1) views are its negatives
        # (benchmark.losses computes it in float32, also under bfloat16 autocast)
        return nt_xent(z[:n], z[n:], self.temperature)
