"""Decoder-only (GPT-style) and encoder-decoder (translator) transformers.

`forward` returns logits only. To see inside, use `run_with_cache`, which returns the logits plus the
activations captured under their TransformerLens-style names during that one call.
"""
from __future__ import annotations

import re
from typing import Callable

import torch
from torch import nn

from .config import MaskKind, ModelConfig
from .glossary import dims_of
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

    def embed_input(self, tok_emb, pos_emb):
        """The residual stream entering block 0: token embedding + position embedding."""
        return self.hook_embed(tok_emb) + self.hook_pos_embed(pos_emb.expand_as(tok_emb))

    def run(self, x, self_mask, memory=None, memory_mask=None, start: int = 0):
        """Blocks `start`.. then the final norm, from `x`, the residual stream entering block `start`."""
        for block in self.blocks[start:]:
            x = block(x, self_mask, memory, memory_mask)
        return self.ln_final(x)

    def forward(self, tok_emb, pos_emb, self_mask, memory=None, memory_mask=None):
        return self.run(self.embed_input(tok_emb, pos_emb), self_mask, memory, memory_mask)


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
        x = self.stack.embed_input(self.embed(tokens), self.pos_embed(tokens.shape[1]))
        return self.run_blocks(x, tokens, 0, mask)

    def run_blocks(self, x: torch.Tensor, tokens: torch.Tensor, start: int = 0, mask: MaskKind | None = None
                   ) -> torch.Tensor:
        """The forward pass from block `start` on: `x` [batch, pos, d_model] is the residual stream entering that
        block (what `blocks.{start}.hook_resid_pre`, or equally `blocks.{start-1}.hook_resid_post`, captured for
        these `tokens`); `start` = n_layers runs only the final norm and the unembedding. `forward` is this from
        block 0, so a resumed run goes through the same code and its hooks see the same tensors. `tokens` give
        the length and the padding mask."""
        self._check_len(tokens, "the text")
        if not 0 <= start <= self.cfg.n_layers:
            raise ValueError(f"start block {start} is outside 0..{self.cfg.n_layers}")
        if tuple(x.shape) != (tokens.shape[0], tokens.shape[1], self.cfg.d_model):
            raise ValueError(f"the residual stream has shape {tuple(x.shape)}; expected "
                             f"{(tokens.shape[0], tokens.shape[1], self.cfg.d_model)} for these tokens")
        self_mask = build_mask(mask or self.cfg.self_attn_mask, tokens.shape[1], tokens, self.cfg.pad_id)
        return self._finish(self.stack.run(x, self_mask, start=start))


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


def block_of(name: str, n_layers: int) -> int:
    """Where a decoder-only model's hook runs in the forward pass: -1 for the embeddings, l for `blocks.{l}.…`,
    n_layers for what follows the last block (`ln_final.…`, `hook_logits`, `hook_probs`)."""
    if name.startswith("blocks."):
        return int(name.split(".", 2)[1])
    return -1 if name in ("hook_embed", "hook_pos_embed") else n_layers


def first_block(model: Transformer, names=None) -> int:
    """The earliest block (see `block_of`) holding an activation that `names` selects; n_layers if none."""
    wanted = name_filter(names)
    return min((block_of(n, model.cfg.n_layers) for n in model.hook_names if wanted(n)), default=model.cfg.n_layers)


def head_selector(heads: list[int], n_heads: int):
    """keep(name, tensor) for `capturing`: the given heads (in that order) of an activation with a `head` dim
    (glossary dims, after the batch dim); other activations whole."""
    bad = [h for h in heads if not 0 <= h < n_heads]
    if bad or not heads:
        raise ValueError(f"heads {bad or heads} are not in 0..{n_heads - 1}")
    index = torch.tensor(heads)
    axes: dict[str, int | None] = {}

    def keep(name: str, x: torch.Tensor) -> torch.Tensor:
        if name not in axes:
            dims = dims_of(name)
            axes[name] = dims.index("head") + 1 if "head" in dims else None
        axis = axes[name]
        return x if axis is None else x.index_select(axis, index)
    return keep


def run_with_cache(model: Transformer, tokens: torch.Tensor, target: torch.Tensor | None = None, names=None,
                   mask: MaskKind | None = None, stop_early: bool = False, max_values: int | None = None,
                   heads: list[int] | None = None, start: int = 0, resid: torch.Tensor | None = None,
                   on_resid: Callable[[int, torch.Tensor], None] | None = None,
                   ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
    """Run one forward pass and return (logits, {name: activation}).

    `tokens` (and `target` for an encoder-decoder) may be 1-D [pos] or 2-D [batch, pos]. With 1-D input the
    batch dimension is dropped from the logits and from every cached tensor, so shapes match the dims in the
    glossary ([pos, d_model], [head, query_pos, key_pos], ...). `names`: None (all), a glob, a list of globs,
    or a predicate on the name. Capture is per call: concurrent callers never share a cache.
    `stop_early=True`: stop the forward pass as soon as every requested activation is captured (a request for
    layer 0 skips the later layers and the unembedding); the logits are then None. `max_values`: raise
    `hooks.CaptureTooLarge` as soon as the captured activations hold more values than this (the forward stops).
    `heads`: keep only these heads of every activation with a `head` dim (sliced as it is captured, so
    `max_values` counts what is kept).
    Decoder-only: `start`, `resid`: begin at block `start` (via `DecoderOnly.run_blocks`) from `resid`, the
    residual stream entering it as an earlier call captured it (same tokens and mask); no requested name may lie
    before that block. `on_resid(l, x)` is called with the residual stream entering each block l the forward
    passes through (l = n_layers: entering the final norm), batch dim dropped for 1-D input, so a caller can keep
    them for later resumes; with `stop_early`, the forward then runs to the end of the block of the last
    requested activation (not past it), so the stream entering the next block is handed out too and a
    layer-by-layer client's next request starts exactly there.
    """
    single = tokens.dim() == 1
    if single:
        tokens = tokens[None]
        target = target[None] if target is not None else None
    wanted = name_filter(names)
    expected = sum(1 for n in model.hook_names if wanted(n)) if stop_early else None
    if isinstance(model, EncoderDecoder) and target is None:
        raise ValueError("an encoder-decoder model needs target tokens for the decoder")
    resuming = resid is not None or start != 0
    if resuming or on_resid is not None:
        if not isinstance(model, DecoderOnly):
            raise ValueError("resuming at a block (start, resid, on_resid) needs a decoder-only model")
    if resuming:
        if resid is None:
            raise ValueError(f"start={start} needs resid, the residual stream entering block {start}")
        if first_block(model, wanted) < start:
            raise ValueError(f"an activation before block {start} is requested; it cannot be captured from there")
        resid = resid[None] if single else resid
    taps, stop_after = None, None
    if on_resid is not None:
        def tap(layer):
            return lambda x: on_resid(layer, x[0] if single else x)
        taps = {f"blocks.{l}.hook_resid_pre": tap(l) for l in range(model.cfg.n_layers)}
        taps.update({f"blocks.{l}.hook_resid_post": tap(l + 1) for l in range(model.cfg.n_layers)})
        last = max((block_of(n, model.cfg.n_layers) for n in model.hook_names if wanted(n)), default=-1)
        if stop_early and 0 <= last < model.cfg.n_layers:  # finish that block: hand out the stream entering the next
            expected, stop_after = None, f"blocks.{last}.hook_resid_post"
    keep = head_selector(list(heads), model.cfg.n_heads) if heads is not None else None
    with capturing(wanted, expected, max_values, keep, taps, stop_after) as cache:
        try:
            if isinstance(model, EncoderDecoder):
                logits = model(tokens, target, mask=mask)
            elif resuming:
                logits = model.run_blocks(resid, tokens, start, mask)
            else:
                logits = model(tokens, mask=mask)
        except StopForward:
            logits = None
    if single:
        return (None if logits is None else logits[0]), {k: v[0] for k, v in cache.items()}
    return logits, dict(cache)
