"""MERL's published ResNet18 ECG encoder (Liu, Wan, Cheng, Zhang, Arcucci; ICML 2024), evaluated as released.

MERL aligns this encoder with a clinical language model on MIMIC-IV-ECG's ECG-report pairs (its own pre-training
data, not the PTB-XL reports of this benchmark's table). Its architecture is the shared ResNet18-1D exactly
(stem conv k7/s2 + BN + ReLU without max-pool, BasicBlocks [2, 2, 2, 2], 64-512 channels, 1x1 shortcuts), so the
default encoder and the default features (global average pool of the last stage, 512-d, as MERL's linear
probe) are used; config.yaml maps the checkpoint's key names onto it and declares the input MERL was trained on.
"""
import benchmark


class Method(benchmark.Method):
    title = "MERL ResNet18"
    paper = "Liu et al., ICML 2024"
