"""HuBERT-ECG (Coppola et al., medRxiv 2024), the published self-supervised transformer, evaluated as released.

The Hub release (`Edoardo-BS/hubert-ecg-small`) ships its model class as remote code: transformers' HubertModel
plus two pre-training heads (`final_proj`, `label_embedding`) that feature extraction never uses. So the network
is built here with transformers' own HubertConfig and HubertModel from the release's config.json, and the heads'
keys are dropped (config.yaml `weights.keys`): no code from the Hub runs (no trust_remote_code).

Input (the authors' code/dataset.py): 12 leads at 100 Hz for 5 s, each lead scaled to [-1, 1], flattened lead
after lead into one sequence of 6,000 samples (config.yaml `input:` has the benchmark resample, crop and scale).
Features: the mean over time of the last hidden state (their HuBERTForECGClassification pools this way).
"""
import json

import benchmark

# config.json entries that describe the release's remote class, not the architecture HubertConfig needs
NOT_ARCHITECTURE = ("architectures", "auto_map", "model_type", "transformers_version", "_name_or_path")


class Method(benchmark.Method):
    title = "HuBERT-ECG small"
    paper = "Coppola et al., medRxiv 2024"

    @classmethod
    def build_encoder(cls, cfg):
        from transformers import HubertConfig, HubertModel

        with open(cfg["weights"]["config.json"]) as f:
            release = json.load(f)
        return HubertModel(HubertConfig.from_dict({k: v for k, v in release.items() if k not in NOT_ARCHITECTURE}))

    @property
    def feature_dim(self) -> int:
        return int(self.encoder.config.hidden_size)

    def features(self, ecg):
        # (B, 12, 500) -> (B, 6000): lead 0's samples, then lead 1's, ... as the authors' reshape(-1) of (12, T)
        hidden = self.encoder(input_values=ecg.reshape(ecg.shape[0], -1)).last_hidden_state
        return hidden.mean(dim=1)
