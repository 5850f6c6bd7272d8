"""ETP: ECG-Text Pre-training (Liu, Wan, Cheng, Zhang, Arcucci; ICASSP 2024).

The ECG encoder (shared ResNet18-1D) and a frozen clinical language model embed an ECG and its report;
two projection heads map both to a d = 512 space (Eq. 1-2) where a symmetric CLIP loss with temperature
0.07 pulls each ECG towards its own report and away from the K - 1 other reports of the batch (Eq. 3-5).
The language model is frozen, so its report embeddings are precomputed by the benchmark (batch["text_emb"])
and only the encoder and the two heads are trained.
"""
import torch
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose
from benchmark.losses import clip_loss, info_nce


class Method(benchmark.Method):
    title = "ETP"
    paper = "Liu et al., ICASSP 2024"
    needs_text = True
    zero_shot = True
    params_schema = {"proj_dim": p.positive_int, "temperature": p.positive_number, "learnable_temperature": p.boolean,
                     "ecg_ecg_weight": p.non_negative_number, "ecg_ecg_temperature": p.positive_number,
                     "ecg_ecg_augmentations": p.augmentations}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        d = cfg["proj_dim"]
        # Sec. 3.2: "two linear projection heads ... output dimension of 512"
        self.ecg_proj = nn.Linear(encoder.out_dim, d)
        self.text_proj = nn.Linear(cfg["text_dim"], d)
        log_t = torch.tensor(float(cfg["temperature"])).log()
        # Sec. 2.1 fixes the temperature at 0.07; Sec. 3.2 calls it "initialized to 0.07": both are offered
        if cfg["learnable_temperature"]:
            self.log_temperature = nn.Parameter(log_t)
        else:
            self.register_buffer("log_temperature", log_t)
        # Sec. 2.2, Eq. 6-8: the optional ECG invariance term (weight 0 = off, the paper's ETP; README.md)
        self.ecg_weight = float(cfg["ecg_ecg_weight"])
        self.ecg_temperature = float(cfg["ecg_ecg_temperature"])
        augmentations = cfg["ecg_ecg_augmentations"]
        self.augment = Compose.from_config(augmentations, cfg["sampling_rate"]) if self.ecg_weight else None

    def embed_ecg(self, ecg):
        return self.ecg_proj(self.encoder(ecg))

    def embed_text(self, text_emb):
        return self.text_proj(text_emb)

    def settings(self):
        if not self.ecg_weight:
            return {}
        return {"ECG-ECG term": f"weight {self.ecg_weight:g}, augmentations {self.augment.summary}"}

    def training_step(self, batch):
        e = self.embed_ecg(batch["ecg"])
        clip = clip_loss(e, self.embed_text(batch["text_emb"]), self.log_temperature.exp())
        if not self.ecg_weight:
            return clip
        # Eq. 6: each ECG's projection must pick the projection of its own augmented view e' among the batch's
        # (cosine similarities r^{e2e'} over sigma_2 = 0.07; one direction, as the equation is written)
        ecg_ecg = info_nce(e, self.embed_ecg(self.augment(batch["ecg"])), self.ecg_temperature, normalise=True)
        return {"loss": clip + self.ecg_weight * ecg_ecg, "clip": clip, "ecg_ecg": ecg_ecg}
