"""Training batches read ahead of the GPU: a background thread gathers the next batches' rows from the
memory-mapped store (numpy copies without holding the GIL), into pinned memory when the batches go to a
GPU, so the copy to the device is asynchronous (`non_blocking=True`) and overlaps the current step.

The loop measures how long it waited for a batch (`wait_seconds`): the share of a step spent on data,
which a fast pipeline keeps near zero.

A store larger than RAM is read from disk: its rows are written in a random order at preparation and an epoch
visits shuffled blocks of consecutive rows (benchmark.pretrain.epoch_batches, `pretrain.read_block`), copied by
several threads (`pretrain.read_threads`, ParallelRows), which keeps the disk reading sequentially with several
requests in flight (docs/design/merl_setting.md: 931 MB/s and 1.3 % data wait against 81 MB/s and 85 % for single
random rows, 48 GB store on a 25 GB machine).
"""
from __future__ import annotations

import queue
import threading
import time

import numpy as np
import torch

_DONE = object()


class ParallelRows:
    """signals[rows] copied by `threads` threads, each a slice of the rows: more reads in flight than one thread's
    page faults give. Close it (or use it as a context manager) to end the threads."""

    def __init__(self, signals: np.ndarray, threads: int):
        from concurrent.futures import ThreadPoolExecutor

        self.signals, self.threads, self.pool = signals, threads, ThreadPoolExecutor(threads)
        self.shape, self.dtype = signals.shape, signals.dtype

    def __len__(self) -> int:
        return len(self.signals)

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows),) + self.signals.shape[1:], self.signals.dtype)
        parts = np.array_split(np.arange(len(rows)), self.threads)

        def copy(part):
            out[part] = self.signals[rows[part]]
        list(self.pool.map(copy, parts))
        return out

    def close(self) -> None:
        self.pool.shutdown()

    def __enter__(self) -> "ParallelRows":
        return self

    def __exit__(self, *_) -> None:
        self.close()


class BatchReader:
    """Iterate over `batches` (arrays of positions into `rows`) as dicts of device tensors: "ecg" (B, leads, T),
    "patient" (B,) and, when `text` is given, "text_emb" (B, D). `depth` batches are read ahead. `adapt`
    (benchmark.inputs.InputAdapter) turns stored signals into the method's input, in the reading thread; "ecg" is
    float32 whatever the store holds. `io_threads` > 1 copies each batch's rows with that many threads."""

    def __init__(self, signals: np.ndarray, rows: np.ndarray, patients: torch.Tensor, batches: list[np.ndarray],
                 device: torch.device, text: np.ndarray | None = None, depth: int = 2, adapt=None,
                 io_threads: int = 1):
        self._parallel = ParallelRows(signals, io_threads) if io_threads > 1 else None
        signals = self._parallel or signals
        self.signals, self.rows, self.patients, self.text = signals, rows, patients, text
        self.adapt = adapt or (lambda x: x)
        self.batches, self.device = batches, device
        self.pin = device.type == "cuda"
        self.wait_seconds = 0.0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_all, name="batch-reader", daemon=True)
        self._thread.start()

    def _host_batch(self, pos: np.ndarray) -> dict:
        rows = self.rows[pos]
        out = {"ecg": torch.from_numpy(np.ascontiguousarray(self.adapt(self.signals[rows]), dtype=np.float32)),
               "patient": self.patients[rows]}
        if self.text is not None:
            out["text_emb"] = torch.from_numpy(np.ascontiguousarray(self.text[rows]))
        return {k: v.pin_memory() for k, v in out.items()} if self.pin else out

    def _read_all(self) -> None:
        try:
            for pos in self.batches:
                item = self._host_batch(pos)
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as e:  # handed to the training thread, which raises it
            self._queue.put(e)
            return
        self._queue.put(_DONE)

    def __iter__(self):
        try:
            while True:
                t0 = time.perf_counter()
                item = self._queue.get()
                self.wait_seconds += time.perf_counter() - t0
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield {k: v.to(self.device, non_blocking=True) for k, v in item.items()}
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a reader waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.05)
        if self._parallel is not None:
            self._parallel.close()

    def __len__(self) -> int:
        return len(self.batches)
