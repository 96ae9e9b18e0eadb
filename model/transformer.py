"""Decoder-only (GPT-style) and encoder-decoder (translator) transformers.

`forward` returns logits only. To see inside, use `run_with_cache`, which returns the logits plus the
activations captured under their TransformerLens-style names during that one call.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .attention import build_mask, prepare_mask
from .block import Block
from .config import MaskKind, ModelConfig
from .embeddings import Embed, MLMHead, TokenTypeEmbed, Unembed
from .hooks import (HookPoint, HookSpec, StopForward, add_hooks, assign_hook_names, capturing, is_capturing,
                    name_filter, public_name)
from .norms import NORM_TITLES, make_norm, placed
from .positions import PosEmbed, Rotary
from .steps import describe_steps, stage

POS_D = ("pos", "d_model")
STACK_HOOKS = {
    "hook_embed": HookSpec(POS_D, "token embedding", "token embedding: the row of W_E for each token (times the "
                                                     "embedding scale, if the model has one)"),
    "hook_pos_embed": HookSpec(POS_D, "position embedding", "position embedding added to each token "
                                                            "(sinusoidal table, learned W_pos, or zeros)"),
    "hook_token_type_embed": HookSpec(POS_D, "token-type embedding", "token-type (segment) embedding added to "
                                                                     "each token: the row of W_token_type"),
}
MODEL_HOOKS = {
    "hook_logits": HookSpec(("pos", "d_vocab"), "logits", "unembedding output: one score per vocabulary token"),
    "hook_probs": HookSpec(("pos", "d_vocab"), "probabilities", "softmax of the logits at temperature 1"),
}
EMBED_STAGE = ("hook_embed", "hook_pos_embed", "hook_token_type_embed")  # leaves of the embedding stage


class Stack(nn.Module):
    """The embedding stage (token + position + token-type embedding, an optional norm), a stack of blocks, and
    the final norm (pre-norm only: post-norm blocks already end on one)."""

    kind = "stack"

    def __init__(self, cfg: ModelConfig, cross: bool, stack: str = ""):
        """`stack`: "" (the one stack of a decoder-only or encoder-only model), "encoder" or "decoder"; it only
        names things (the stages of the forward pass, the steps' titles)."""
        super().__init__()
        hooks = ["hook_embed"] + (["hook_pos_embed"] if cfg.pos_embed != "rotary" else [])
        hooks += ["hook_token_type_embed"] if cfg.n_token_types else []
        add_hooks(self, {h: STACK_HOOKS[h] for h in hooks})
        rotary = cfg.pos_embed == "rotary"
        self.cfg, self.label = cfg, f"{stack.capitalize()}: " if stack else ""
        side = "target" if stack == "decoder" else "source"
        self.stage = stage(f"{stack}.embed" if stack else "embed", f"{stack.capitalize()} input" if stack else "Input",
                           side, reads_tokens=True)
        norm = NORM_TITLES[cfg.norm_type]
        self.ln_embed = placed(make_norm(cfg), f"{norm} of the embeddings (ln_embed)") if cfg.embed_norm else None
        self.rotary = Rotary(cfg) if rotary else None
        self.blocks = nn.ModuleList(Block(cfg, cross=cross, rotary=rotary, index=i, stack=stack)
                                    for i in range(cfg.n_layers))
        memory = "Encoder output (memory)"
        if cfg.final_norm:
            self.ln_final = placed(make_norm(cfg), f"{'Encoder: final' if stack == 'encoder' else 'Final'} "
                                   f"{norm.replace('Layer', 'layer')}", memory if stack == "encoder" else None,
                                   "Every decoder cross-attention reads its keys and values from this."
                                   if stack == "encoder" else "")
        else:
            self.ln_final = nn.Identity()
            if stack == "encoder":
                self.blocks[-1].out_title = memory
        self.ln_final.stage = (stage("encoder.out", "Encoder output", side) if stack == "encoder"
                               else stage("output", "Output", side))

    def step_info(self, leaf: str) -> dict:
        """Title and sentence of the embedding stage's capture points (model/steps.py)."""
        cfg = self.cfg
        if leaf == "hook_embed":
            rows = cfg.src_vocab_size if self.label == "Encoder: " and not cfg.share_embeddings else cfg.vocab_size
            scale = f", multiplied by {cfg.embed_scale:.4g}" if cfg.embed_scale != 1.0 else ""
            return {"title": self._title("token embedding row"),
                    "text": f"Each token id selects its row of the embedding matrix W_E ({rows:,} × {cfg.d_model}){scale}."}
        if leaf == "hook_token_type_embed":
            return {"title": self._title("add the token-type vector"),
                    "text": f"The row of W_token_type ({cfg.n_token_types} × {cfg.d_model}) for each token's segment "
                            "(0 = the first sentence, 1 = the second), added to the stream too."}
        texts = {
            "learned": f"The learned position vector of each position (a row of W_pos, {cfg.n_ctx} × {cfg.d_model}), "
                       "added to the token's embedding.",
            "sinusoidal": "The fixed sinusoidal vector of each position (sines and cosines of position-dependent "
                          "angles, interleaved), added to the token's embedding; nothing learned.",
            "sinusoidal_halves": "The fixed sinusoidal vector of each position (all the sines, then all the cosines, "
                                 "of position-dependent angles), added to the token's embedding; nothing learned.",
            "none": "This model adds no position information: the vector added is zero.",
        }
        return {"title": self._title("add the position vector"), "text": texts[cfg.pos_embed]}

    def _title(self, what: str) -> str:
        return f"{self.label}{what}" if self.label else what[0].upper() + what[1:]

    def embed_input(self, tok_emb, pos_emb=None, type_emb=None):
        """The residual stream entering block 0: token embedding (+ position) (+ token type) (then a norm)."""
        x = self.hook_embed(tok_emb)
        if pos_emb is not None:
            x = x + self.hook_pos_embed(pos_emb.expand_as(tok_emb))
        if type_emb is not None:
            x = x + self.hook_token_type_embed(type_emb)
        return x if self.ln_embed is None else self.ln_embed(x)

    def rope(self, length: int, device=None):
        """(cos, sin) of the rotary angles of positions 0..length-1, or None without rotary positions."""
        return None if self.rotary is None else self.rotary.cos_sin(length, device)

    def run(self, x, self_mask, memory=None, memory_mask=None, start: int = 0):
        """Blocks `start`.. then the final norm, from `x`, the residual stream entering block `start`."""
        rope = self.rope(x.shape[1], x.device)
        self_mask, memory_mask = prepare_mask(self_mask), prepare_mask(memory_mask)  # once, not per block
        for block in self.blocks[start:]:
            x = block(x, self_mask, memory, memory_mask, rope)
        return self.ln_final(x)


class _Base(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = Embed(cfg)
        self.pos_embed = PosEmbed(cfg) if cfg.pos_embed != "rotary" else None
        self.unembed = Unembed(cfg)
        add_hooks(self, MODEL_HOOKS)
        self.token_type_embed = TokenTypeEmbed(cfg) if cfg.n_token_types else None
        self.mlm_head = MLMHead(cfg) if cfg.lm_head == "mlm" else None

    def _check_len(self, tokens: torch.Tensor, what: str) -> None:
        if tokens.shape[-1] > self.cfg.n_ctx:
            raise ValueError(f"{what} has {tokens.shape[-1]} tokens; this model's context is {self.cfg.n_ctx}")
        if tokens.shape[-1] == 0:
            raise ValueError(f"{what} is empty")

    def _positions(self, length: int):
        return None if self.pos_embed is None else self.pos_embed(length)

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        if self.mlm_head is not None:
            x = self.mlm_head(x)
        logits = self.hook_logits(self.unembed(x, self.embed.W_E if self.cfg.tie_embeddings else None))
        if is_capturing(self.hook_probs.name):
            self.hook_probs(logits.softmax(dim=-1))
        return logits

    def _name_hooks(self, rename) -> None:
        assign_hook_names(self, rename)
        self._specs = {m.name: m.spec for m in self.modules() if isinstance(m, HookPoint)}

    @property
    def hook_names(self) -> list[str]:
        return list(self._specs)

    @property
    def hook_specs(self) -> dict[str, HookSpec]:
        """Every capture point's declaration (dims, title, description), by activation name."""
        return self._specs

    def steps(self) -> list[dict]:
        """The forward pass as an ordered list of steps, one per capture point, read from the components'
        declarations (model/steps.py describes every field): name, hook, dims, description, component, kind,
        extra, and what a page needs to draw it: title, text, stage, layer, positions, with, part_of, views,
        attention."""
        return describe_steps(self)[0]

    def stages(self) -> list[dict]:
        """The parts of the forward pass, in order (the input of each stack, each block, the output):
        [{id, title, side, reads_tokens, names}], `names` the globs that select a stage's activations."""
        return describe_steps(self)[1]

    def step_info(self, leaf: str) -> dict:
        """Title and sentence of the model's own capture points, the logits and probabilities (model/steps.py)."""
        cfg = self.cfg
        masked = self.arch == "encoder"
        if leaf == "hook_logits":
            W = "W_Eᵀ (tied to the token embedding)" if cfg.tie_embeddings else "W_U"
            return {"title": f"Unembedding → logits (d_model {cfg.d_model} → {cfg.vocab_size:,} tokens)",
                    "text": f"One score per vocabulary token: the final stream times {W}"
                            f"{' plus b_U' if cfg.unembed_bias else ''}."}
        bars = ("the bars show the ten most likely tokens at the chosen position (at a [MASK], the model's guess "
                "for it)." if masked else "the bars show the ten most likely next tokens after the chosen position.")
        return {"title": f"Softmax → {'token' if masked else 'next-token'} probabilities",
                "text": f"Softmax (temperature 1) turns each position's logits into a probability for every token; {bars}"}


class SingleStack(_Base):
    """One stack of blocks over one sequence: decoder-only (causal self-attention) or encoder-only (padding
    mask). Hook names drop the container: "stack.blocks.0.attn.hook_q" -> "blocks.0.attn.hook_q"."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.stack = Stack(cfg, cross=False)
        self.stage = stage("output", "Output", "source")
        self._name_hooks(public_name)  # "stack.blocks.0.attn.hook_q" -> "blocks.0.attn.hook_q"

    def embed_tokens(self, tokens: torch.Tensor, token_types: torch.Tensor | None = None) -> torch.Tensor:
        """The residual stream entering block 0 for these tokens (token types default to 0)."""
        types = None
        if self.token_type_embed is not None:
            types = self.token_type_embed(token_types if token_types is not None else torch.zeros_like(tokens))
        elif token_types is not None:
            raise ValueError("this model has no token-type embedding")
        return self.stack.embed_input(self.embed(tokens), self._positions(tokens.shape[1]), types)

    def forward(self, tokens: torch.Tensor, mask: MaskKind | None = None, attention_mask: torch.Tensor | None = None,
                token_types: torch.Tensor | None = None) -> torch.Tensor:
        """tokens [batch, pos] -> logits [batch, pos, vocab]. `mask` overrides the configured self-attention mask;
        `attention_mask` [batch, pos] (1 = token, 0 = padding) hides padding keys; `token_types` [batch, pos]."""
        self._check_len(tokens, "the text")
        return self.run_blocks(self.embed_tokens(tokens, token_types), tokens, 0, mask, attention_mask)

    def run_blocks(self, x: torch.Tensor, tokens: torch.Tensor, start: int = 0, mask: MaskKind | None = None,
                   attention_mask: torch.Tensor | None = None) -> torch.Tensor:
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
        self_mask = build_mask(mask or self.cfg.self_attn_mask, tokens.shape[1], tokens, self.cfg.pad_id,
                               attention_mask, self.cfg.sliding_window)
        return self._finish(self.stack.run(x, self_mask, start=start))


class DecoderOnly(SingleStack):
    arch = "decoder"


class EncoderOnly(SingleStack):
    """BERT-style: the configured mask is "padding" (every token sees every other), the head predicts the
    token at each position (masked-LM)."""

    arch = "encoder"


class EncoderDecoder(_Base):
    """Source tokens go through the encoder (padding mask); the decoder reads target tokens (causal mask) and
    attends to the encoder output through cross-attention. One vocabulary; one embedding unless
    `share_embeddings` is False (then the encoder has its own, `encoder_embed`)."""

    arch = "encoder_decoder"

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.encoder = Stack(cfg, cross=False, stack="encoder")
        self.decoder = Stack(cfg, cross=True, stack="decoder")
        self.stage = stage("output", "Output", "target")
        self.encoder_embed = None if cfg.share_embeddings else Embed(cfg, cfg.src_vocab_size)
        self._name_hooks(public_name)  # "encoder.blocks.0.attn.hook_q" -> "encoder.0.attn.hook_q"

    def encode(self, src: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        self._check_len(src, "the source text")
        mask = build_mask("padding", src.shape[1], src, self.cfg.pad_id, attention_mask)
        embed = self.encoder_embed if self.encoder_embed is not None else self.embed
        x = self.encoder.embed_input(embed(src), self._positions(src.shape[1]))
        return self.encoder.run(x, mask)

    def decode(self, memory: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor, mask: MaskKind | None = None,
               attention_mask: torch.Tensor | None = None, target_attention_mask: torch.Tensor | None = None):
        self._check_len(tgt, "the target text")
        self_mask = build_mask(mask or self.cfg.self_attn_mask, tgt.shape[1], tgt, self.cfg.pad_id,
                               target_attention_mask, self.cfg.sliding_window)
        memory_mask = build_mask("padding", tgt.shape[1], src, self.cfg.pad_id, attention_mask)
        x = self.decoder.embed_input(self.embed(tgt), self._positions(tgt.shape[1]))
        return self._finish(self.decoder.run(x, self_mask, memory, memory_mask))

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, mask: MaskKind | None = None,
                attention_mask: torch.Tensor | None = None, target_attention_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        """src [batch, src_pos], tgt [batch, tgt_pos] -> logits [batch, tgt_pos, vocab]. `attention_mask` /
        `target_attention_mask`: 1 = token, 0 = padding, for the source / the target."""
        return self.decode(self.encode(src, attention_mask), src, tgt, mask, attention_mask, target_attention_mask)


Transformer = DecoderOnly | EncoderOnly | EncoderDecoder
_CLASSES = {"decoder": DecoderOnly, "encoder": EncoderOnly, "encoder_decoder": EncoderDecoder}


def build_model(cfg: ModelConfig, device: str | torch.device | None = None) -> Transformer:
    """The model the config describes. device="meta": shapes only, no memory (for a parameter count, or to
    load weights with `load_state_dict(..., assign=True)` and then `reset_buffers`)."""
    if device is None:
        return _CLASSES[cfg.arch](cfg)
    with torch.device(device):
        return _CLASSES[cfg.arch](cfg)


def after_load(model: nn.Module) -> None:
    """After `load_state_dict(..., assign=True)` into a model built on the meta device: recompute the derived
    buffers (fixed position tables, rotary frequencies; never saved) on the CPU and give the attention weights
    their input-major layout back (model/attention.py)."""
    for m in model.modules():
        if hasattr(m, "after_load") and m is not model:
            m.after_load()


def block_of(name: str, n_layers: int) -> int:
    """Where a single-stack model's hook runs in the forward pass: -1 for the embedding stage (`hook_embed`,
    `hook_pos_embed`, `hook_token_type_embed`, `ln_embed.…`), l for `blocks.{l}.…`, n_layers for what follows
    the last block (`ln_final.…`, `mlm_head.…`, `hook_logits`, `hook_probs`)."""
    if name.startswith("blocks."):
        return int(name.split(".", 2)[1])
    return -1 if name in EMBED_STAGE or name.startswith("ln_embed.") else n_layers


def first_block(model: Transformer, names=None) -> int:
    """The earliest block (see `block_of`) holding an activation that `names` selects; n_layers if none."""
    wanted = name_filter(names)
    return min((block_of(n, model.cfg.n_layers) for n in model.hook_names if wanted(n)), default=model.cfg.n_layers)


def head_selector(heads: list[int], n_heads: int, dims_of):
    """keep(name, tensor) for `capturing`: the given heads (in that order) of an activation with a `head` dim
    (`dims_of(name)`, after the batch dim); other activations whole (so, under grouped-query attention, the
    keys and values with their `kv_head` dim)."""
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
                   attention_mask: torch.Tensor | None = None, target_attention_mask: torch.Tensor | None = None,
                   token_types: torch.Tensor | None = None,
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
    Single-stack models: `start`, `resid`: begin at block `start` (via `SingleStack.run_blocks`) from `resid`, the
    residual stream entering it as an earlier call captured it (same tokens and mask); no requested name may lie
    before that block. `on_resid(l, x)` is called with the residual stream entering each block l the forward
    passes through (l = n_layers: entering the final norm), batch dim dropped for 1-D input, so a caller can keep
    them for later resumes; with `stop_early`, the forward then runs to the end of the block of the last
    requested activation (not past it), so the stream entering the next block is handed out too and a
    layer-by-layer client's next request starts exactly there.
    `attention_mask` (and `target_attention_mask` for the decoder of an encoder-decoder): [batch, pos], 1 for a
    token, 0 for padding (Hugging Face's convention), so padded batches attend only to their tokens.
    `token_types`: [batch, pos] segment ids for a model with a token-type embedding (default 0).
    """
    single = tokens.dim() == 1
    if single:
        tokens = tokens[None]
        target = target[None] if target is not None else None
        attention_mask = attention_mask[None] if attention_mask is not None else None
        target_attention_mask = target_attention_mask[None] if target_attention_mask is not None else None
        token_types = token_types[None] if token_types is not None else None
    wanted = name_filter(names)
    expected = sum(1 for n in model.hook_names if wanted(n)) if stop_early else None
    if isinstance(model, EncoderDecoder) and target is None:
        raise ValueError("an encoder-decoder model needs target tokens for the decoder")
    resuming = resid is not None or start != 0
    if resuming or on_resid is not None:
        if not isinstance(model, SingleStack):
            raise ValueError("resuming at a block (start, resid, on_resid) needs a decoder-only or encoder-only model")
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
    specs = model.hook_specs
    keep = head_selector(list(heads), model.cfg.n_heads, lambda n: specs[n].dims) if heads is not None else None
    with capturing(wanted, expected, max_values, keep, taps, stop_after) as cache:
        try:
            if isinstance(model, EncoderDecoder):
                logits = model(tokens, target, mask=mask, attention_mask=attention_mask,
                               target_attention_mask=target_attention_mask)
            elif resuming:
                logits = model.run_blocks(resid, tokens, start, mask, attention_mask)
            else:
                logits = model(tokens, mask=mask, attention_mask=attention_mask, token_types=token_types)
        except StopForward:
            logits = None
    if single:
        return (None if logits is None else logits[0]), {k: v[0] for k, v in cache.items()}
    return logits, dict(cache)
