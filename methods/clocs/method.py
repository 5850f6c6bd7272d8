"""CLOCS: Contrastive Learning of Cardiac Signals across space, time and patients
(Kiyasseh, Zhu, Clifton; ICML 2021), on the shared 12-lead ResNet18-1D.

Views come from the recording itself, not from augmentation: CMSC takes temporally adjacent,
non-overlapping segments of a record, CMLC different leads at the same time, CMSMLC both. Every view goes
through the same encoder and a linear embedding layer (E = 128); cosine similarities over temperature 0.1
are contrasted across every ordered pair of views (A, B), A != B, and the positives of an anchor are all
representations of the same patient: its own other view and the views of the patient's other records in
the batch (the paper's patient-specific noise-contrastive loss).
"""
import torch
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose
from benchmark.losses import multi_positive_info_nce, same_id_mask

VARIANTS = ("cmsc", "cmlc", "cmsmlc")


def adjacent_segments(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    """CMSC views: the record cut into n non-overlapping, temporally adjacent segments of equal length
    (CMSC: an instance of n * S samples gives n segments of S samples)."""
    s = x.shape[-1] // n
    return [x[..., i * s:(i + 1) * s] for i in range(n)]


def lead_groups(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    """CMLC views for a 12-lead encoder: the leads of each record are split at random into n disjoint groups
    of equal size (drawn per record and step); view g keeps group g and zeroes the other leads."""
    b, leads, _ = x.shape
    rank = torch.rand(b, leads, device=x.device).argsort(dim=1).argsort(dim=1)  # a random permutation per record
    group = rank * n // leads                                                     # its position -> group 0..n-1
    return [x * (group == g).unsqueeze(-1).to(x.dtype) for g in range(n)]


class Method(benchmark.Method):
    title = "CLOCS"
    paper = "Kiyasseh et al., ICML 2021"
    params_schema = {"variant": p.one_of(*VARIANTS), "segments": p.positive_int, "lead_groups": p.positive_int,
                     "embedding_dim": p.positive_int, "temperature": p.positive_number,
                     "positive_weighting": p.one_of("per_term", "per_pair"), "augmentations": p.augmentations}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        self.variant = cfg["variant"]
        self.n_segments, self.n_lead_groups = cfg["segments"], cfg["lead_groups"]
        # CLOCS uses no augmentation; the list is empty by default
        self.augment = Compose.from_config(cfg["augmentations"], cfg["sampling_rate"])
        # CLOCS' network ends in a linear layer to an E = 128 dimensional embedding where the loss lives
        self.embed = nn.Linear(encoder.out_dim, cfg["embedding_dim"])
        self.temperature = cfg["temperature"]
        self.weighting = cfg["positive_weighting"]

    def views(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.variant == "cmsc":
            return adjacent_segments(x, self.n_segments)
        if self.variant == "cmlc":
            return lead_groups(x, self.n_lead_groups)
        # CMSMLC: each segment, with its own random lead split
        return [v for seg in adjacent_segments(x, self.n_segments) for v in lead_groups(seg, self.n_lead_groups)]

    @staticmethod
    def positive_mask(patient: torch.Tensor) -> torch.Tensor:
        """Representations of the same patient are positives, every other pair a negative."""
        return same_id_mask(patient)

    def pair_loss(self, a: torch.Tensor, b: torch.Tensor, masks: tuple) -> torch.Tensor:
        """The patient-specific InfoNCE from view A's records to view B's.

        per_term (the authors' obtain_contrastive_loss): the mean over records of the term for the record's own
        other view, and the mean over the batch's other same-patient pairs, are two terms of equal weight (the
        second only when the batch has such a pair), so a patient's other records keep a fixed share of the
        loss however few they are. per_pair: one mean over every positive pair, where the own-view pairs
        (one per record) outnumber the others (~1.16 records per PTB-XL patient) and the loss is nearly
        instance discrimination."""
        same, own, others, present = masks
        if self.weighting == "per_pair":
            return multi_positive_info_nce(a, b, same, self.temperature)
        own_term = multi_positive_info_nce(a, b, own, self.temperature)
        # (without another-record pair the term is computed on the own-view mask, only to stay finite, and
        # weighted 0)
        other_term = multi_positive_info_nce(a, b, torch.where(present, others, own), self.temperature)
        w = present.to(own_term.dtype)
        return (own_term + w * other_term) / (1 + w)

    def positive_masks(self, patient: torch.Tensor) -> tuple:
        """(same patient, own record, other record of the same patient, whether the batch has any of the
        latter): the latter decided on the device, since an `if` on it would read it back every step."""
        same = self.positive_mask(patient)
        own = torch.eye(len(patient), dtype=torch.bool, device=same.device)
        others = same & ~own
        return same, own, others, others.any()

    def contrastive_loss(self, embeddings: list[torch.Tensor], patient: torch.Tensor) -> torch.Tensor:
        """The patient-specific InfoNCE averaged over all ordered pairs of views (A, B), A != B."""
        pairs = [(a, b) for a in range(len(embeddings)) for b in range(len(embeddings)) if a != b]
        masks = self.positive_masks(patient)
        return torch.stack([self.pair_loss(embeddings[a], embeddings[b], masks) for a, b in pairs]).mean()

    def training_step(self, batch):
        views = self.views(self.augment(batch["ecg"]))
        embeddings = [self.embed(self.encoder(v)) for v in views]
        return self.contrastive_loss(embeddings, batch["patient"])
