"""SimSiam: Exploring Simple Siamese Representation Learning (Chen & He, CVPR 2021), on the shared ResNet18-1D.

Two augmented views share one encoder f (backbone + projection MLP); a prediction MLP h maps one view's
output to match the other's, whose branch is cut by a stop-gradient; the loss is the symmetrised negative
cosine similarity (Sec. 3, Eq. 1-4, Algorithm 1). No negatives, no momentum encoder: the stop-gradient is
what prevents collapse (Sec. 4.1).
"""
import torch.nn.functional as F
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose


def negative_cosine(p, z):
    """Eq. 1 with Eq. 3's stop-gradient: D(p, stopgrad(z)) = -cos(p, z), batch mean (Algorithm 1, D)."""
    return -F.cosine_similarity(p.float(), z.detach().float(), dim=-1).mean()   # float32 under autocast too


def projection_mlp(d_in: int, d: int, layers: int) -> nn.Sequential:
    """Sec. 3 "Baseline settings": BN on every fully-connected layer, the output one included (no ReLU there);
    3 layers for ImageNet, 2 in the CIFAR-10 ResNet-18 setting (appendix). The output BN has no learnable
    scale or shift (`affine=False`, the authors' builder.py)."""
    mods = []
    for i in range(layers):
        last = i == layers - 1
        mods += [nn.Linear(d_in if i == 0 else d, d, bias=False), nn.BatchNorm1d(d, affine=not last)]
        if not last:
            mods.append(nn.ReLU(inplace=True))
    return nn.Sequential(*mods)


class Method(benchmark.Method):
    title = "SimSiam"
    paper = "Chen & He, CVPR 2021"
    params_schema = {"proj_dim": p.positive_int, "proj_layers": p.positive_int, "pred_hidden_dim": p.positive_int,
                     "fix_pred_lr": p.boolean, "augmentations": p.augmentations}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        # the augmentation family (`etp`: the ETP paper's protocol for its baselines; `simclr`: the BYOL/SimCLR
        # family SimSiam itself uses, Sec. 3, as ECG analogues), or a list; see README.md
        self.augment = Compose.from_config(cfg["augmentations"], cfg["sampling_rate"])
        self.fix_pred_lr = cfg["fix_pred_lr"]
        d, bottleneck = cfg["proj_dim"], cfg["pred_hidden_dim"]
        self.projector = projection_mlp(encoder.out_dim, d, cfg["proj_layers"])
        # Sec. 3 "Baseline settings": prediction MLP h, 2 layers, bottleneck (2048 -> 512 -> 2048),
        # BN + ReLU on the hidden layer only
        self.predictor = nn.Sequential(nn.Linear(d, bottleneck, bias=False), nn.BatchNorm1d(bottleneck),
                                       nn.ReLU(inplace=True), nn.Linear(bottleneck, d))

    def settings(self):
        return {"augmentations": self.augment.summary}

    def param_groups(self):
        """Sec. 4.2 / the authors' --fix-pred-lr: the predictor keeps the base learning rate while the
        encoder's and projector's decay along the cosine schedule."""
        if not self.fix_pred_lr:
            return super().param_groups()
        predictor = {id(p) for p in self.predictor.parameters()}
        return [{"params": [p for p in self.parameters() if id(p) not in predictor]},
                {"params": list(self.predictor.parameters()), "fixed_lr": True}]

    def training_step(self, batch):
        x = batch["ecg"]
        x1, x2 = self.augment(x), self.augment(x)             # Algorithm 1: random augmentation aug(x), twice
        z1, z2 = self.projector(self.encoder(x1)), self.projector(self.encoder(x2))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        # Eq. 4: L = D(p1, stopgrad(z2)) / 2 + D(p2, stopgrad(z1)) / 2
        return 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1)
