"""The residual stream entering each block, kept for recent inputs so that a trace of block l resumes there.

A client that fetches a long input layer by layer (`names=["blocks.0.*"]`, then `blocks.1.*`, ...) would
otherwise re-run blocks 0..l for every request. The trace route of a decoder-only model stores, for its
(model id, mask, token ids), the residual stream entering every block its forward passes through
(`blocks.{l}.hook_resid_pre`, equal to `blocks.{l-1}.hook_resid_post`; block n_layers = entering the final
norm), and starts a later request whose names all lie at block l or after from the closest cached block <= l
(`DecoderOnly.run_blocks`), so its hooks see the same tensors as a full forward.

One cache per app (created by `create_app`, on `app.state.resid_cache`), shared by all requests: thread-safe (one lock), least recently used entries evicted first,
capped by the bytes of the tensors it holds (MAX_BYTES). Encoder-decoder models are not cached (no resume).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import torch
from model.transformer import first_block
from model.zoo import LoadedModel

MAX_BYTES = 256 * 2**20  # 256 MiB: e.g. 5 inputs of 1,024 tokens of a GPT-2-small-shaped model (13 x 3 MiB each)

Key = tuple[str, str, bytes]


def tensor_bytes(x: torch.Tensor) -> int:
    """Bytes kept alive by holding `x` (its whole storage, in case it is a view)."""
    return x.untyped_storage().nbytes()


class ResidCache:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Key, int], torch.Tensor] = OrderedDict()  # oldest first

    @staticmethod
    def key(model_id: str, tokens: torch.Tensor, mask: str | None = None) -> Key:
        """What the residual stream depends on besides the weights: the model, the mask, the token ids."""
        return model_id, mask or "", tokens.to(torch.int64).numpy().tobytes()

    def put(self, key: Key, block: int, x: torch.Tensor) -> None:
        """Keep `x`, the residual stream entering `block` for `key` (replacing an older one); evict the least
        recently used entries beyond the byte cap. A tensor over the cap alone is not kept."""
        size = tensor_bytes(x)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop((key, block), None)
            if old is not None:
                self.bytes -= tensor_bytes(old)
            self._entries[(key, block)] = x
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= tensor_bytes(evicted)

    def get(self, key: Key, block: int) -> tuple[int, torch.Tensor] | None:
        """(b, x) for the latest cached block b <= `block` of `key` (marked recently used), or None."""
        with self._lock:
            for b in range(block, -1, -1):
                x = self._entries.get((key, b))
                if x is not None:
                    self._entries.move_to_end((key, b))
                    return b, x
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def resume_args(cache: ResidCache, loaded: LoadedModel, tokens: torch.Tensor, names) -> dict:
    """`run_with_cache` keyword arguments for a decoder-only trace of `names` on 1-D `tokens`: start from the
    stream cached at the closest block <= the first one `names` selects (if any), and keep the stream entering
    every block the forward passes through. {} for an encoder-decoder (no resume)."""
    if loaded.is_encoder_decoder:
        return {}
    key = cache.key(loaded.id, tokens)
    args: dict = {"on_resid": lambda layer, x: cache.put(key, layer, x)}
    hit = cache.get(key, first_block(loaded.model, names))
    if hit is not None:
        args["start"], args["resid"] = hit
    return args
