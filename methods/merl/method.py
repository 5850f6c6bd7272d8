"""MERL: multimodal ECG representation learning (Liu, Wan, Cheng, Zhang, Arcucci; ICML 2024), trained here.

The objective as the official code implements it (cheliu-computation/MERL-ICML2024 at 38799b7,
utils/utils_builder.py and utils/utils_loss.py; docs/design/merl_setting.md, section 2):
- cross-modal alignment (CMA): the encoder's last feature map goes through a 1x1 convolution 512 -> 256 and a
  CLIP-style attention pool (one learned query token, learned positions, 4 heads, Linear 256 -> 256); the report
  embedding through Linear(D -> 256)-GELU-Linear(256 -> 256); a CLIP loss with fixed temperature 0.07;
- uni-modal alignment (UMA): the 256-channel map is average-pooled and sent through two separate bias-free
  Linear(256 -> 256) heads, each with its own Dropout(0.1): the two "views" differ only by their maps and
  dropout masks, and a CLIP loss with the same temperature pulls them together;
- total = CMA + UMA, each the *sum* of the two cross-entropies (MERL's clip_loss), i.e. twice the mean
  `benchmark.losses.clip_loss` returns.
MERL's text encoder (MedCPT) runs under @torch.no_grad() in that code, so it is frozen end to end and only the
text projection trains: the benchmark's precomputed frozen report embeddings (batch["text_emb"]) are that setup,
with the preset's text model instead of MedCPT (README.md: deviations).
"""
import torch
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.losses import clip_loss


class AttentionPool1d(nn.Module):
    """MERL's AttentionPool2d on a (B, C, L) map: a learned query token attends over [query; map] (+ learned
    positions) with multi-head attention; the attended query, projected, is the embedding."""

    def __init__(self, length: int, dim: int, heads: int, out_dim: int):
        super().__init__()
        self.positions = nn.Parameter(torch.randn(1, length + 1, dim) / dim)   # MERL's scale: 1 / dim
        self.query = nn.Parameter(torch.randn(1, 1, dim))
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.out = nn.Linear(dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)                                             # (B, L, C)
        if x.shape[1] + 1 != self.positions.shape[1]:
            raise ValueError(f"MERL's attention pool was built for {self.positions.shape[1] - 1} time steps of the "
                             f"feature map, got {x.shape[1]}: the input length changed after construction")
        query = (self.query + self.positions[:, :1]).expand(x.shape[0], -1, -1)
        # as MERL's forward: the query already carries position 0 and gets the whole table added again
        tokens = torch.cat([query, x], dim=1) + self.positions.to(x.dtype)
        attended, _ = self.attention(tokens[:, :1], tokens, tokens, need_weights=False)
        return self.out(attended[:, 0])


def merl_clip_loss(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """MERL's clip_loss: cross-entropy over rows plus over columns (a sum, not the mean of the two)."""
    return 2.0 * clip_loss(a, b, temperature)


class Method(benchmark.Method):
    title = "MERL"
    paper = "Liu et al., ICML 2024"
    needs_text = True
    zero_shot = True
    params_schema = {"proj_dim": p.positive_int, "attention_heads": p.positive_int, "temperature": p.positive_number,
                     "uma_dropout": p.probability, "uma_weight": p.non_negative_number}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        d = cfg["proj_dim"]
        self.downconv = nn.Conv1d(encoder.out_dim, d, kernel_size=1)
        self.attention_pool = AttentionPool1d(encoder.feature_length(cfg["n_samples"]), d, cfg["attention_heads"], d)
        self.text_proj = nn.Sequential(nn.Linear(cfg["text_dim"], d), nn.GELU(), nn.Linear(d, d))
        self.uma_views = nn.ModuleList(nn.Sequential(nn.Linear(d, d, bias=False), nn.Dropout(cfg["uma_dropout"]))
                                       for _ in range(2))
        self.temperature = float(cfg["temperature"])
        self.uma_weight = float(cfg["uma_weight"])

    def _ecg_map(self, ecg):
        return self.downconv(self.encoder.feature_map(ecg))

    def embed_ecg(self, ecg):
        return self.attention_pool(self._ecg_map(ecg))

    def embed_text(self, text_emb):
        return self.text_proj(text_emb)

    def settings(self):
        if self.uma_weight == 1.0:
            return {}
        return {"UMA weight": f"{self.uma_weight:g} (MERL: 1)"}

    def training_step(self, batch):
        fmap = self._ecg_map(batch["ecg"])
        cma = merl_clip_loss(self.attention_pool(fmap), self.embed_text(batch["text_emb"]), self.temperature)
        pooled = fmap.mean(dim=-1)
        uma = merl_clip_loss(self.uma_views[0](pooled), self.uma_views[1](pooled), self.temperature)
        return {"loss": cma + self.uma_weight * uma, "cma": cma, "uma": uma}
