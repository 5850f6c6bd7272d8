"""CPC: Representation Learning with Contrastive Predictive Coding (van den Oord, Li, Vinyals; 2018), on the
shared ResNet18-1D.

The encoder maps the ECG to a sequence of latents z_t (here `encoder.feature_map`: 512 channels, one step per
16 samples); an autoregressive GRU summarises z_<=t into a context c_t; for each of K future offsets a
linear map W_k predicts z_{t+k} from c_t, scored by the log-bilinear f_k = exp(z_{t+k}^T W_k c_t) and trained
with InfoNCE against negatives drawn from the batch (Sec. 2.2-2.3, Eq. 3-4; Sec. 3.1 for the audio setting
this follows: strided conv encoder, GRU context, K = 12).

The predicted latents lie beyond the encoder's receptive field: one latent of ResNet18-1D sees 219 input
samples with a stride of 16, so z_{t+k} shares input with z_t for every k <= 13. CPC's audio encoder (field
465, stride 160) overlapped for k <= 2 only; predicting k = 1..12 here could be won by local continuity of
the waveform. The offsets therefore start at the first k whose target shares no sample with anything the
context saw (`first_offset: auto`, measured from the encoder); see README.md.
"""
import torch
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose
from benchmark.encoders import receptive_field
from benchmark.losses import info_nce


def first_unseen_offset(encoder) -> int:
    """The smallest k for which the input of z_{t+k} starts after the input of z_t ends: with a receptive
    field of R samples and a stride of S, z_t covers [S t - a, S t - a + R - 1], so k S > R - 1."""
    return (receptive_field(encoder) - 1) // encoder.stride + 1


class Method(benchmark.Method):
    title = "CPC"
    paper = "van den Oord et al., arXiv 2018"
    params_schema = {"context_dim": p.positive_int, "prediction_steps": p.positive_int,
                     "first_offset": p.either(p.one_of("auto"), p.positive_int),
                     "anchors_per_sequence": p.positive_int, "temperature": p.positive_number,
                     "augmentations": p.augmentations}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        # CPC uses no augmentation; config.yaml may list some (empty by default)
        self.augment = Compose.from_config(cfg["augmentations"], cfg["sampling_rate"])
        # Sec. 3.1: g_ar is a GRU (256-d context in the audio experiments), causal by construction
        self.context = nn.GRU(encoder.out_dim, cfg["context_dim"], batch_first=True)
        # Eq. 3: one linear transformation W_k per prediction offset; K offsets starting at the first one whose
        # target the context has not seen (or at `first_offset` when the config gives a number)
        first = cfg["first_offset"]
        first = first_unseen_offset(encoder) if first == "auto" else int(first)
        self.offsets = list(range(first, first + cfg["prediction_steps"]))
        self.predictors = nn.ModuleList(nn.Linear(cfg["context_dim"], encoder.out_dim, bias=False)
                                        for _ in self.offsets)
        # Initialisation is not specified. The scores are unnormalised dot products of 512-d post-ReLU latents,
        # so PyTorch's default init starts the loss at ~4x chance (~28 vs log 512 = 6.2 at batch 64) with large
        # gradients into the encoder; starting W_k at zero makes every score 0 and the loss exactly log(#cand.)
        for w in self.predictors:
            nn.init.zeros_(w.weight)
        self.anchors = int(cfg["anchors_per_sequence"])
        self.temperature = float(cfg["temperature"])

    def latents_and_contexts(self, x):
        """z: (B, L, 512) latents z_t, c: (B, L, context_dim) contexts c_t (c_t sees z_1..z_t only)."""
        z = self.encoder.feature_map(x).transpose(1, 2).float()
        # the recurrence and the unnormalised scores run in float32 also under the loop's bfloat16 autocast
        with torch.autocast(z.device.type, enabled=False):
            c, _ = self.context(z)
        return z, c

    def usable_offsets(self, length: int) -> list[tuple[int, int]]:
        """(index of W_k, k) for the offsets that fit in a sequence of `length` latents (k < length)."""
        usable = [(j, k) for j, k in enumerate(self.offsets) if k < length]
        if not usable:
            raise ValueError(f"CPC predicts latents {self.offsets[0]}..{self.offsets[-1]} steps ahead, but the ECG "
                             f"gives only {length} latent steps (T/16); use records of at least "
                             f"{16 * self.offsets[0] + 1} samples or set params.first_offset in "
                             "methods/cpc/config.yaml")
        return usable

    def predictions(self, c):
        """[W_k c_t for t = 0 .. L-k-1] for the offsets k that fit: a list of (k, (B, L - k, 512)) aligned with
        the targets z[:, k:]."""
        return [(k, self.predictors[j](c[:, : c.shape[1] - k])) for j, k in self.usable_offsets(c.shape[1])]

    def training_step(self, batch):
        z, c = self.latents_and_contexts(self.augment(batch["ecg"]))
        b, length = z.shape[:2]
        losses = []
        for j, k in self.usable_offsets(length):
            # A distinct anchor times t per record (without replacement), so that a key is never duplicated;
            # W_k is applied at the anchors only (the same numbers as `predictions(c)` there, ~L/A times cheaper)
            n_t = length - k
            a = min(self.anchors, n_t)
            t = torch.rand(b, n_t, device=z.device).argsort(dim=1)[:, :a]           # (B, A)
            rows = torch.arange(b, device=z.device)[:, None].expand(b, a)
            query = self.predictors[j](c[rows, t]).reshape(b * a, -1)               # W_k c_t
            keys = z[rows, t + k].reshape(b * a, -1)                                 # z_{t+k}
            # Eq. 4 (InfoNCE): the true z_{t+k} among the B*A sampled latents, i.e. negatives from the other
            # records of the batch and from other times of the same record (Sec. 3.1 draws negatives from the
            # same and from other sequences of the minibatch)
            losses.append(info_nce(query.float(), keys, self.temperature))
        # the per-offset InfoNCE losses are summed in the paper; averaged here so the scale does not depend on K
        return torch.stack(losses).mean()
