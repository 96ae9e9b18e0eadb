"""Decoder-only (GPT-style) and encoder-decoder (translator) transformers.

`forward` returns logits only. To see inside, use `run_with_cache`, which returns the logits plus the
activations captured under their TransformerLens-style names during that one call.
"""
from __future__ import annotations

import re

import torch
from torch import nn

from .config import MaskKind, ModelConfig
from .hooks import HookPoint, StopForward, assign_hook_names, capturing, is_capturing, name_filter
from .layers import Block, Embed, LayerNorm, PosEmbed, build_mask


class Stack(nn.Module):
    """Token + position embedding, a stack of blocks, and the final layer norm (pre-LN only: post-LN blocks
    already end on a norm)."""

    def __init__(self, cfg: ModelConfig, cross: bool):
        super().__init__()
        self.hook_embed = HookPoint()  # [pos, d_model]
        self.hook_pos_embed = HookPoint()  # [pos, d_model]
        self.blocks = nn.ModuleList(Block(cfg, cross=cross) for _ in range(cfg.n_layers))
        self.ln_final = LayerNorm(cfg.d_model, cfg.ln_eps) if cfg.norm == "pre" else nn.Identity()

    def forward(self, tok_emb, pos_emb, self_mask, memory=None, memory_mask=None):
        x = self.hook_embed(tok_emb) + self.hook_pos_embed(pos_emb.expand_as(tok_emb))
        for block in self.blocks:
            x = block(x, self_mask, memory, memory_mask)
        return self.ln_final(x)


class Unembed(nn.Module):
    """Residual stream -> logits. With tied embeddings there is no W_U: the token embedding's transpose is used."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if not cfg.tie_embeddings:
            self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.vocab_size))
            nn.init.normal_(self.W_U, std=0.02)
        self.b_U = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, x: torch.Tensor, tied_W_E: torch.Tensor | None = None) -> torch.Tensor:
        return x @ (tied_W_E.T if tied_W_E is not None else self.W_U) + self.b_U


class _Base(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = Embed(cfg)
        self.pos_embed = PosEmbed(cfg)
        self.unembed = Unembed(cfg)
        self.hook_logits = HookPoint()  # [pos, d_vocab]
        self.hook_probs = HookPoint()  # [pos, d_vocab]  softmax of the logits at temperature 1

    def _check_len(self, tokens: torch.Tensor, what: str) -> None:
        if tokens.shape[-1] > self.cfg.n_ctx:
            raise ValueError(f"{what} has {tokens.shape[-1]} tokens; this model's context is {self.cfg.n_ctx}")
        if tokens.shape[-1] == 0:
            raise ValueError(f"{what} is empty")

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.hook_logits(self.unembed(x, self.embed.W_E if self.cfg.tie_embeddings else None))
        if is_capturing(self.hook_probs.name):
            self.hook_probs(logits.softmax(dim=-1))
        return logits

    @property
    def hook_names(self) -> list[str]:
        return [m.name for m in self.modules() if isinstance(m, HookPoint)]


class DecoderOnly(_Base):
    arch = "decoder"

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.stack = Stack(cfg, cross=False)
        # "stack.blocks.0.attn.hook_q" -> "blocks.0.attn.hook_q"
        assign_hook_names(self, lambda path: path.removeprefix("stack."))

    def forward(self, tokens: torch.Tensor, mask: MaskKind | None = None) -> torch.Tensor:
        """tokens [batch, pos] -> logits [batch, pos, vocab]. `mask` overrides the configured self-attention mask."""
        self._check_len(tokens, "the text")
        self_mask = build_mask(mask or self.cfg.self_attn_mask, tokens.shape[1], tokens, self.cfg.pad_id)
        x = self.stack(self.embed(tokens), self.pos_embed(tokens.shape[1]), self_mask)
        return self._finish(x)


class EncoderDecoder(_Base):
    """Source tokens go through the encoder (padding mask); the decoder reads target tokens (causal mask) and
    attends to the encoder output through cross-attention. One shared vocabulary and embedding."""

    arch = "encoder_decoder"

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.encoder = Stack(cfg, cross=False)
        self.decoder = Stack(cfg, cross=True)
        # "encoder.blocks.0.attn.hook_q" -> "encoder.0.attn.hook_q"
        assign_hook_names(self, lambda path: re.sub(r"^(encoder|decoder)\.blocks\.", r"\1.", path))

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        self._check_len(src, "the source text")
        mask = build_mask("padding", src.shape[1], src, self.cfg.pad_id)
        return self.encoder(self.embed(src), self.pos_embed(src.shape[1]), mask)

    def decode(self, memory: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor, mask: MaskKind | None = None):
        self._check_len(tgt, "the target text")
        self_mask = build_mask(mask or self.cfg.self_attn_mask, tgt.shape[1], tgt, self.cfg.pad_id)
        memory_mask = build_mask("padding", tgt.shape[1], src, self.cfg.pad_id)
        x = self.decoder(self.embed(tgt), self.pos_embed(tgt.shape[1]), self_mask, memory, memory_mask)
        return self._finish(x)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, mask: MaskKind | None = None) -> torch.Tensor:
        """src [batch, src_pos], tgt [batch, tgt_pos] -> logits [batch, tgt_pos, vocab]."""
        return self.decode(self.encode(src), src, tgt, mask)


Transformer = DecoderOnly | EncoderDecoder


def build_model(cfg: ModelConfig) -> Transformer:
    return DecoderOnly(cfg) if cfg.arch == "decoder" else EncoderDecoder(cfg)


def run_with_cache(model: Transformer, tokens: torch.Tensor, target: torch.Tensor | None = None, names=None,
                   mask: MaskKind | None = None, stop_early: bool = False, max_values: int | None = None
                   ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
    """Run one forward pass and return (logits, {name: activation}).

    `tokens` (and `target` for an encoder-decoder) may be 1-D [pos] or 2-D [batch, pos]. With 1-D input the
    batch dimension is dropped from the logits and from every cached tensor, so shapes match the dims in the
    glossary ([pos, d_model], [head, query_pos, key_pos], ...). `names`: None (all), a glob, a list of globs,
    or a predicate on the name. Capture is per call: concurrent callers never share a cache.
    `stop_early=True`: stop the forward pass as soon as every requested activation is captured (a request for
    layer 0 skips the later layers and the unembedding); the logits are then None. `max_values`: raise
    `hooks.CaptureTooLarge` as soon as the captured activations hold more values than this (the forward stops).
    """
    single = tokens.dim() == 1
    if single:
        tokens = tokens[None]
        target = target[None] if target is not None else None
    expected = None
    if stop_early:
        wanted = name_filter(names)
        expected = sum(1 for n in model.hook_names if wanted(n))
    if isinstance(model, EncoderDecoder) and target is None:
        raise ValueError("an encoder-decoder model needs target tokens for the decoder")
    with capturing(names, expected, max_values) as cache:
        try:
            logits = model(tokens, target, mask=mask) if isinstance(model, EncoderDecoder) else model(tokens, mask=mask)
        except StopForward:
            logits = None
    if single:
        return (None if logits is None else logits[0]), {k: v[0] for k, v in cache.items()}
    return logits, dict(cache)
