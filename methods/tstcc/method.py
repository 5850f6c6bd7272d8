"""TS-TCC: Time-Series representation learning via Temporal and Contextual Contrasting
(Eldele, Ragab, Chen, Wu, Kwoh, Li, Guan; IJCAI 2021), on the shared 12-lead ResNet18-1D.

Two views of every record, a weak one (jitter-and-scale) and a strong one (permutation-and-jitter),
go through the shared encoder; its temporal feature map z (B, 512, T/16) is what the two modules contrast.
Temporal contrasting: a transformer summarises one view's z_1..z_t into a context c_t, from which
K linear maps W_k predict the OTHER view's z_{t+k}; InfoNCE with the batch's other records as negatives.
Contextual contrasting: NT-Xent (temperature 0.2) between the projected contexts of the two views.
Overall loss: lambda_1 * (L_TC^s + L_TC^w) + lambda_2 * L_CC with lambda_1 = 1, lambda_2 = 0.7 (paper's setting).
Section names below are the paper's (Methods: Time-Series Data Augmentation, Temporal Contrasting,
Contextual Contrasting).
"""
import torch
import torch.nn.functional as F
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose, gaussian_noise, segment_permutation
from benchmark.losses import info_nce, nt_xent


class TemporalContrast(nn.Module):
    """Temporal Contrasting. The autoregressive model is a transformer (L layers, H heads, pre-norm) over the
    linearly projected features with a context token prepended; its output at the token is the context c_t."""

    def __init__(self, feat_dim: int, hidden: int, layers: int, heads: int, mlp_dim: int, dropout: float,
                 timesteps: int):
        super().__init__()
        self.embed = nn.Linear(feat_dim, hidden)
        self.token = nn.Parameter(torch.randn(1, 1, hidden) / hidden ** 0.5)
        layer = nn.TransformerEncoderLayer(hidden, heads, mlp_dim, dropout, batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        # one linear map W_k per predicted step k = 1..K
        self.predictors = nn.ModuleList(nn.Linear(hidden, feat_dim) for _ in range(timesteps))

    def context(self, z_past: torch.Tensor) -> torch.Tensor:
        """(B, t, feat_dim) -> c_t (B, hidden)."""
        h = self.embed(z_past)
        h = torch.cat([self.token.expand(h.shape[0], -1, -1), h], dim=1)
        return self.transformer(h)[:, 0]

    def loss(self, c: torch.Tensor, z_future: torch.Tensor) -> torch.Tensor:
        """The TC loss (Eq. 3): for each k, W_k c_t must pick its own record's z_{t+k} among the batch's
        (dot-product scores, in-batch negatives), averaged over the k steps given.
        c: (B, hidden); z_future: (B, k, feat_dim), L2-normalised along the features by the caller."""
        with torch.autocast(c.device.type, enabled=False):  # float32 also under the loop's bf16 autocast
            c, z_future = c.float(), z_future.float()
            return torch.stack([info_nce(self.predictors[j](c), z_future[:, j])
                                for j in range(z_future.shape[1])]).mean()


class Method(benchmark.Method):
    title = "TS-TCC"
    paper = "Eldele et al., IJCAI 2021"
    params_schema = {"weak_augmentations": p.augmentations, "max_segments": {"type": "integer", "minimum": 2},
                     "strong_jitter": p.non_negative_number,
                     "tc": p.group(future_fraction={"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                                   hidden_dim={"type": "integer", "minimum": 4}, layers=p.positive_int,
                                   heads=p.positive_int, mlp_dim=p.positive_int, dropout=p.probability),
                     "cc_temperature": p.positive_number, "lambda_tc": p.non_negative_number,
                     "lambda_cc": p.non_negative_number}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        self.weak = Compose.from_config(cfg["weak_augmentations"], cfg["sampling_rate"])
        self.max_segments = cfg["max_segments"]
        self.strong_jitter = cfg["strong_jitter"]
        t = cfg["tc"]
        # K future steps = a fixed fraction (40 %) of the feature map, the proportion of the reference
        # configurations (e.g. 50 of 127 steps for Sleep-EDF), whatever the record's length and rate
        self.timesteps = max(1, round(t["future_fraction"] * encoder.feature_length(cfg["n_samples"])))
        self.tc = TemporalContrast(encoder.out_dim, t["hidden_dim"], t["layers"], t["heads"], t["mlp_dim"],
                                   t["dropout"], self.timesteps)
        # Contextual Contrasting: non-linear projection head on the contexts before NT-Xent
        # (hidden -> hidden/2 -> hidden/4)
        h = t["hidden_dim"]
        self.cc_head = nn.Sequential(nn.Linear(h, h // 2), nn.BatchNorm1d(h // 2), nn.ReLU(inplace=True),
                                     nn.Linear(h // 2, h // 4))
        self.cc_temperature = cfg["cc_temperature"]
        self.lambda_tc, self.lambda_cc = cfg["lambda_tc"], cfg["lambda_cc"]

    def views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Data Augmentation: weak = jitter-and-scale; strong = permutation-and-jitter, both over all 12 leads
        (`segment_permutation` never returns a record unchanged, so every strong view is permuted)."""
        strong = gaussian_noise(segment_permutation(x, max_segments=self.max_segments), sigma=self.strong_jitter)
        return self.weak(x), strong

    def feature_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T', 512) feature map, each time step L2-normalised along the features, as the reference trainer
        does before temporal contrasting (F.normalize(features, dim=1)): the dot-product scores are then
        bounded, the TC loss starts near chance (log B) beside the CC loss, and inflating feature norms cannot
        lower it."""
        return F.normalize(self.encoder.feature_map(x).transpose(1, 2), dim=-1)

    def training_step(self, batch):
        weak, strong = self.views(batch["ecg"])
        zw, zs = self.feature_sequence(weak), self.feature_sequence(strong)
        steps = zw.shape[1]
        k = min(self.timesteps, steps - 1)  # shorter inputs than the preset's (tests) predict fewer steps
        # Temporal Contrasting: one random time t per batch; the context sees z_1..z_t,
        # the targets are z_{t+1..t+K}
        t = int(torch.randint(1, steps - k + 1, (1,)))
        cw, cs = self.tc.context(zw[:, :t]), self.tc.context(zs[:, :t])
        # cross-view prediction: the strong context predicts the weak future and vice versa
        loss_tc = self.tc.loss(cs, zw[:, t:t + k]) + self.tc.loss(cw, zs[:, t:t + k])
        # Contextual Contrasting: the two contexts of a record are positives, the other 2N - 2 contexts negatives
        loss_cc = nt_xent(self.cc_head(cs), self.cc_head(cw), self.cc_temperature)
        return {"loss": self.lambda_tc * loss_tc + self.lambda_cc * loss_cc, "temporal": loss_tc, "contextual": loss_cc}
