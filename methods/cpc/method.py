"""CPC: Representation Learning with Contrastive Predictive Coding (van den Oord, Li, Vinyals; 2018), on the
shared ResNet18-1D.

The encoder maps the ECG to a sequence of latents z_t (here `encoder.feature_map`: 512 channels, one step per
16 samples); an autoregressive GRU summarises z_<=t into a context c_t; for each of K future offsets a
linear map W_k predicts z_{t+k} from c_t, scored by the log-bilinear f_k = exp(z_{t+k}^T W_k c_t) and trained
with InfoNCE against negatives drawn from the batch (Sec. 2.2-2.3, Eq. 3-4; Sec. 3.1 for the audio setting
this follows: strided conv encoder, GRU context, K = 12).
"""
import torch
from torch import nn

import benchmark
from benchmark.augment import Compose
from benchmark.losses import info_nce


class Method(benchmark.Method):
    title = "CPC"
    paper = "van den Oord et al., arXiv 2018"

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        # CPC uses no augmentation; config.yaml may list some (empty by default)
        self.augment = Compose.from_config(cfg.get("augmentations", []), cfg["sampling_rate"])
        # Sec. 3.1: g_ar is a GRU (256-d context in the audio experiments), causal by construction
        self.context = nn.GRU(encoder.out_dim, cfg["context_dim"], batch_first=True)
        # Eq. 3: one linear transformation W_k per prediction step k = 1..K
        self.predictors = nn.ModuleList(nn.Linear(cfg["context_dim"], encoder.out_dim, bias=False)
                                        for _ in range(cfg["prediction_steps"]))
        # Initialisation is not specified. The scores are unnormalised dot products of 512-d post-ReLU latents,
        # so PyTorch's default init starts the loss at ~4x chance (~28 vs log 512 = 6.2 at batch 64) with large
        # gradients into the encoder; starting W_k at zero makes every score 0 and the loss exactly log(#cand.)
        for w in self.predictors:
            nn.init.zeros_(w.weight)
        self.anchors = int(cfg["anchors_per_sequence"])
        self.temperature = float(cfg.get("temperature", 1.0))

    def latents_and_contexts(self, x):
        """z: (B, L, 512) latents z_t, c: (B, L, context_dim) contexts c_t (c_t sees z_1..z_t only)."""
        z = self.encoder.feature_map(x).transpose(1, 2).float()
        # the recurrence and the unnormalised scores run in float32 also under the loop's bfloat16 autocast
        with torch.autocast(z.device.type, enabled=False):
            c, _ = self.context(z)
        return z, c

    def predictions(self, c):
        """[W_k c_t for t = 0 .. L-k-1] for k = 1..K: a list of K tensors, the k-th (B, L - k, 512), aligned with
        the targets z[:, k:]. Offsets that do not fit in the sequence are dropped."""
        steps = min(len(self.predictors), c.shape[1] - 1)
        return [self.predictors[k - 1](c[:, : c.shape[1] - k]) for k in range(1, steps + 1)]

    def training_step(self, batch):
        z, c = self.latents_and_contexts(self.augment(batch["ecg"]))
        b, length = z.shape[:2]
        if length < 2:
            raise ValueError(f"CPC needs at least 2 latent steps; the ECG gives {length} (T/16); use longer records")
        losses = []
        for k in range(1, min(len(self.predictors), length - 1) + 1):
            # A distinct anchor times t per record (without replacement), so that a key is never duplicated;
            # W_k is applied at the anchors only (the same numbers as `predictions(c)` there, ~L/A times cheaper)
            n_t = length - k
            a = min(self.anchors, n_t)
            t = torch.rand(b, n_t, device=z.device).argsort(dim=1)[:, :a]           # (B, A)
            rows = torch.arange(b, device=z.device)[:, None].expand(b, a)
            query = self.predictors[k - 1](c[rows, t]).reshape(b * a, -1)           # W_k c_t
            keys = z[rows, t + k].reshape(b * a, -1)                                 # z_{t+k}
            # Eq. 4 (InfoNCE): the true z_{t+k} among the B*A sampled latents, i.e. negatives from the other
            # records of the batch and from other times of the same record (Sec. 3.1 draws negatives from the
            # same and from other sequences of the minibatch)
            losses.append(info_nce(query.float(), keys, self.temperature))
        # the per-offset InfoNCE losses are summed in the paper; averaged here so the scale does not depend on K
        return torch.stack(losses).mean()
