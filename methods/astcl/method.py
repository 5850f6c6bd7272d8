"""ASTCL: Adversarial SpatioTemporal Contrastive Learning for ECG (Wang et al., IEEE TNNLS 2023),
an UNOFFICIAL reimplementation from the paper's description (no public code exists), on the shared ResNet18-1D.

Three parts, as the paper describes them (every choice it leaves open is listed in README.md):
1. ECG augmentations: a positive pair is a "noise-enhanced" view (baseline wander, EMG-like broadband noise,
   mains interference added) and a "denoised" view (baseline removal and low-pass smoothing) of one record.
2. Adversarial module: a discriminator learns to tell the two views' representations apart while the encoder
   learns to fool it, pulling the pair into one shared distribution (discarding the perturbation). Both
   directions come from one backward pass through a gradient-reversal layer (Ganin & Lempitsky 2015): the
   discriminator descends the adversarial loss, the encoder receives the negated gradient and ascends it.
3. Spatiotemporal contrastive module: spatiotemporal prediction (a predictor maps each time step of one
   view's 512-channel feature map onto the other view's, whose branch is stopped; the roles alternate) and
   patient discrimination (InfoNCE whose positives are the records of the same patient, in either view).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose
from benchmark.losses import multi_positive_info_nce, same_id_mask


class GradReverse(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by -scale (a float, or a 0-d tensor on the device,
    which avoids reading it back to the host every step)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale) -> torch.Tensor:
    return GradReverse.apply(x, scale)


def adversarial_loss(logit_noisy: torch.Tensor, logit_clean: torch.Tensor) -> torch.Tensor:
    """The discriminator's binary cross-entropy: noise-enhanced view = 1, denoised view = 0, equal weights."""
    return 0.5 * (F.binary_cross_entropy_with_logits(logit_noisy, torch.ones_like(logit_noisy))
                  + F.binary_cross_entropy_with_logits(logit_clean, torch.zeros_like(logit_clean)))


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """-cos(p, stopgrad(z)) over the channel axis (dim 1), averaged over records and time steps."""
    return -F.cosine_similarity(p, z.detach(), dim=1).mean()


def pointwise_mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    """An MLP applied at every time step of a (B, C, T) feature map (1x1 convolutions)."""
    return nn.Sequential(nn.Conv1d(d_in, d_hidden, 1, bias=False), nn.BatchNorm1d(d_hidden), nn.ReLU(inplace=True),
                         nn.Conv1d(d_hidden, d_out, 1))


class Method(benchmark.Method):
    title = "ASTCL (unofficial)"   # no public code or full text: a reimplementation from the paper's description
    paper = "Wang et al., IEEE TNNLS 2023 (unofficial)"
    params_schema = {"noise_augmentations": p.augmentations, "denoise_augmentations": p.augmentations,
                     "adversarial": p.group(hidden_dim=p.positive_int, gamma=p.non_negative_number,
                                            max_scale=p.non_negative_number),
                     "spatiotemporal": p.group(hidden_dim=p.positive_int, dim=p.positive_int,
                                               pred_hidden_dim=p.positive_int),
                     "patient": p.group(dim=p.positive_int, temperature=p.positive_number),
                     "loss_weights": p.group(adversarial=p.non_negative_number, spatiotemporal=p.non_negative_number,
                                             patient=p.non_negative_number)}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        sr = cfg["sampling_rate"]
        self.noise_enhance = Compose.from_config(cfg["noise_augmentations"], sr)
        self.denoise = Compose.from_config(cfg["denoise_augmentations"], sr)
        d, a, s, pd = encoder.out_dim, cfg["adversarial"], cfg["spatiotemporal"], cfg["patient"]
        self.discriminator = nn.Sequential(nn.Linear(d, a["hidden_dim"]), nn.LeakyReLU(0.2, inplace=True),
                                           nn.Linear(a["hidden_dim"], 1))
        self.adv_gamma, self.adv_max = a["gamma"], a["max_scale"]
        # reversal scale: DANN's ramp 2 / (1 + exp(-gamma p)) - 1 over training progress p (on_step_end)
        self.register_buffer("adv_scale", torch.tensor(0.0 if self.adv_gamma > 0 else float(self.adv_max)))
        self.st_projector = pointwise_mlp(d, s["hidden_dim"], s["dim"])
        self.st_predictor = pointwise_mlp(s["dim"], s["pred_hidden_dim"], s["dim"])
        self.pd_projector = nn.Sequential(nn.Linear(d, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(inplace=True),
                                          nn.Linear(d, pd["dim"]))
        self.temperature = pd["temperature"]
        w = cfg["loss_weights"]
        self.w_adv, self.w_st, self.w_pd = w["adversarial"], w["spatiotemporal"], w["patient"]

    def on_step_end(self, step, total_steps):
        if self.adv_gamma > 0:
            progress = (step + 1) / max(1, total_steps)
            self.adv_scale.fill_(self.adv_max * (2 / (1 + math.exp(-self.adv_gamma * progress)) - 1))

    def adversarial(self, h_noisy: torch.Tensor, h_clean: torch.Tensor) -> torch.Tensor:
        """Discriminator on the reversed-gradient representations: minimising the returned loss trains the
        discriminator to separate the views and the encoder (gradient x -adv_scale) to make them inseparable."""
        scale = self.adv_scale.to(h_noisy.dtype)
        return adversarial_loss(self.discriminator(grad_reverse(h_noisy, scale)).squeeze(-1),
                                self.discriminator(grad_reverse(h_clean, scale)).squeeze(-1))

    def spatiotemporal(self, f_noisy: torch.Tensor, f_clean: torch.Tensor) -> torch.Tensor:
        """Each view's (B, 512, T') map predicts the other's at every time step; predictor and stop-gradient
        alternate between the two branches (symmetrised), which is what keeps this positive-only term from
        collapsing."""
        z1, z2 = self.st_projector(f_noisy), self.st_projector(f_clean)
        return 0.5 * (negative_cosine(self.st_predictor(z1), z2) + negative_cosine(self.st_predictor(z2), z1))

    def patient_discrimination(self, h_noisy, h_clean, patient) -> torch.Tensor:
        """Patient-level positives only: every record of the same patient in the other view is a positive,
        every other patient a negative; symmetrised over the two views."""
        pos = same_id_mask(patient)
        z1, z2 = self.pd_projector(h_noisy), self.pd_projector(h_clean)
        return 0.5 * (multi_positive_info_nce(z1, z2, pos, self.temperature)
                      + multi_positive_info_nce(z2, z1, pos, self.temperature))

    def training_step(self, batch):
        x = batch["ecg"]
        f1 = self.encoder.feature_map(self.noise_enhance(x))   # (B, 512, T')
        f2 = self.encoder.feature_map(self.denoise(x))
        h1, h2 = f1.mean(dim=-1), f2.mean(dim=-1)              # the encoder's pooled representation
        loss_adv = self.adversarial(h1, h2)
        loss_st = self.spatiotemporal(f1, f2)
        loss_pd = self.patient_discrimination(h1, h2, batch["patient"])
        return {"loss": self.w_adv * loss_adv + self.w_st * loss_st + self.w_pd * loss_pd,
                "adversarial": loss_adv, "spatiotemporal": loss_st, "patient": loss_pd}
