"""Shared by the converter tests: tiny tokenizers trained here on sentences written for these tests, random
Hugging Face checkpoints saved with `save_pretrained`, a hub cache laid out as huggingface_hub lays it out,
and the comparison of our traced forward with `transformers`' eager forward (logits, every hidden state, every
attention pattern; batched, with padding)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import torch

from model.registry import ModelRegistry
from model.transformer import run_with_cache

SENTENCES = [
    "the lighthouse keeper counted ships until the fog rolled in",
    "seven small boats waited by the harbour wall",
    "she wrote the numbers twice, then folded the map",
    "a heron stood still in the shallow river",
    "when the bell rang, every window in the street lit up",
    "old maps are wrong about the rivers but right about the hills",
]
TEXTS = ["the keeper counted boats", "a heron waited by the harbour wall until the bell rang",
         "maps, ships and hills"]
# float32, eager softmax on both sides; the weights are drawn large (std 0.2) so that patterns are sharp and a
# wrong mapping shows as an O(1) error. The largest difference seen over all these tests is 1e-5 (logits); 1e-4 is
# the bound the issue sets.
ATOL = 1e-4


def byte_bpe(vocab_size: int = 300, specials=("<|endoftext|>",), **kw):
    """A byte-level BPE (GPT-2 style) wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(SENTENCES, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kw)


def metaspace_bpe(vocab_size: int = 200, specials=("<unk>", "<s>", "</s>"), **kw):
    """A SentencePiece-style BPE ("▁" marks a word start, byte fallback), as Llama-family tokenizers are."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    alphabet = [f"<0x{b:02X}>" for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size + 256, special_tokens=list(specials) + alphabet,
                                  show_progress=False)
    tok.train_from_iterator(SENTENCES, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kw)


def wordpiece(vocab_size: int = 200):
    """A BERT WordPiece tokenizer (lower-casing, [CLS] ... [SEP] template)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(SENTENCES, trainer=trainers.WordPieceTrainer(vocab_size=vocab_size,
                                                                          special_tokens=specials,
                                                                          show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def marian_tokenizer(directory: Path):
    """A MarianTokenizer as opus-mt checkpoints ship it: a SentencePiece unigram model (source.spm = target.spm)
    trained here, and vocab.json with </s> = 0, <unk> = 1 and <pad> last."""
    import io
    import json

    import sentencepiece as spm
    from transformers import MarianTokenizer
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(SENTENCES * 4), model_writer=buf, vocab_size=80,
                                   model_type="unigram", hard_vocab_limit=False, character_coverage=1.0,
                                   bos_id=-1, eos_id=-1, unk_id=0, minloglevel=2)
    for name in ("source.spm", "target.spm"):
        (directory / name).write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    pieces = ["</s>", "<unk>"] + [sp.id_to_piece(i) for i in range(1, sp.get_piece_size())] + ["<pad>"]
    (directory / "vocab.json").write_text(json.dumps({p: i for i, p in enumerate(pieces)}))
    return MarianTokenizer(str(directory / "source.spm"), str(directory / "target.spm"), str(directory / "vocab.json"),
                           source_lang="en", target_lang="fr")


def randomize(model: torch.nn.Module, seed: int = 0, std: float = 0.2) -> torch.nn.Module:
    """Every trainable parameter (and Marian's final_logits_bias) drawn at random: norms' γ around 1, all else
    around 0. Frozen ones (Marian's fixed sinusoidal table) keep their values: they are never saved."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            noise = torch.randn(p.shape, generator=g) * std
            is_norm = p.dim() == 1 and ("norm" in name.lower() or ".ln" in name or name.startswith("ln"))
            p.copy_(noise + 1 if is_norm and name.endswith("weight") else noise)
        for name, b in model.named_buffers():
            if name.endswith("final_logits_bias"):
                b.copy_(torch.randn(b.shape, generator=g) * std)
    return model.eval()


def save(model, tokenizer, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def hub_cache(cache: Path, repo_id: str, checkpoint: Path) -> Path:
    """Lay `checkpoint`'s files out as huggingface_hub's cache does: models--{org}--{name}/blobs/<sha256>,
    snapshots/<commit>/<file> -> ../../blobs/<sha256>, refs/main = <commit>. Returns the cache root."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snap = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snap.mkdir(parents=True, exist_ok=True)
    for f in checkpoint.iterdir():
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        shutil.copyfile(f, repo / "blobs" / digest)
        (snap / f.name).symlink_to(Path("../../blobs") / digest)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return cache


def load_as_user(spec: str, monkeypatch, cache: Path | None = None):
    """Load through the registry, as XRAY_MODELS=<spec> does, with the network off."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if cache is not None:
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    registry = ModelRegistry(spec)
    assert not registry.problems, registry.problems
    (model_id,) = registry.ids
    return registry.model(model_id)


def pad_batch(seqs: list[list[int]], pad: int, left: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(map(len, seqs))
    ids = torch.full((len(seqs), n), pad, dtype=torch.long)
    mask = torch.zeros(len(seqs), n, dtype=torch.long)
    for i, s in enumerate(seqs):
        sl = slice(n - len(s), n) if left else slice(0, len(s))
        ids[i, sl], mask[i, sl] = torch.tensor(s), 1
    return ids, mask


def sharpest(patterns) -> float:
    """The largest weight any query gives one key, over the rows that see at least 4 keys (a causal model's first
    rows are trivially 1.0): far above uniform means the patterns are sharp enough for a wrong mapping to show."""
    best = 0.0
    for p in patterns:
        rows = (p > 0).sum(-1) >= 4
        if rows.any():
            best = max(best, float(p.max(-1).values[rows].max()))
    return best


def _close(ours: torch.Tensor, ref: torch.Tensor, real: torch.Tensor, what: str) -> None:
    """Equal within ATOL at the real (unpadded) positions, given as a [batch, pos] mask on dim 1."""
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    keep = real.bool()
    torch.testing.assert_close(ours[keep], ref[keep], rtol=0, atol=ATOL, msg=lambda m: f"{what}: {m}")


def stack_names(loaded, prefix: str = "blocks") -> tuple[list[str], list[str]]:
    """Our names for Hugging Face's hidden_states (input of each block, then the stack's output after its final
    norm) and attentions (each block's pattern)."""
    cfg = loaded.cfg
    hidden = [f"{prefix}.{l}.hook_resid_pre" for l in range(cfg.n_layers)]
    final = "ln_final.hook_out" if cfg.final_norm else f"{prefix}.{cfg.n_layers - 1}.hook_resid_post"
    if prefix != "blocks" and cfg.final_norm:
        final = f"{prefix}.ln_final.hook_out"
    return hidden + [final], [f"{prefix}.{l}.attn.hook_pattern" for l in range(cfg.n_layers)]


def compare_single_stack(loaded, hf_model, ids: torch.Tensor, mask: torch.Tensor,
                         token_types: torch.Tensor | None = None) -> None:
    """Our run_with_cache vs transformers' eager forward on the same ids and attention mask: logits, every
    hidden state, every attention pattern (query rows of real tokens; padded keys get weight 0 on both)."""
    kw = {} if token_types is None else {"token_type_ids": token_types}
    with torch.inference_mode():
        ref = hf_model(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_attentions=True, **kw)
        logits, cache = run_with_cache(loaded.model, ids, attention_mask=mask, token_types=token_types)
    hidden, patterns = stack_names(loaded)
    assert len(ref.hidden_states) == len(hidden) and len(ref.attentions) == len(patterns)
    _close(logits, ref.logits, mask, "logits")
    for name, h in zip(hidden, ref.hidden_states):
        _close(cache[name], h, mask, name)
    for name, a in zip(patterns, ref.attentions):
        _close(cache[name].transpose(1, 2), a.transpose(1, 2), mask, name)  # rows = queries
    if ids.shape[1] >= 6:
        assert sharpest(cache[n] for n in patterns) > 0.5, "patterns near uniform: too flat to see errors"


def check_family(loaded, hf_model, texts=TEXTS, left_pad: bool = False, token_types: bool = False) -> None:
    """Each text alone, then all of them as one padded batch."""
    pad = loaded.tokenizer.pad_id if loaded.tokenizer.pad_id is not None else 0
    seqs = [loaded.encode(t) for t in texts]
    for s in seqs:
        ids = torch.tensor([s])
        types = torch.tensor([[i % 2 for i in range(len(s))]]) if token_types else None
        compare_single_stack(loaded, hf_model, ids, torch.ones_like(ids), types)
    ids, mask = pad_batch(seqs, pad, left=left_pad)
    assert (mask == 0).any(), "the batch must hold padding"
    types = (torch.arange(ids.shape[1])[None] >= 3).long().expand_as(ids) if token_types else None
    compare_single_stack(loaded, hf_model, ids, mask, types)


def same_weights(a, b) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def compare_encoder_decoder(loaded, hf_model, src: torch.Tensor, src_mask: torch.Tensor, tgt: torch.Tensor,
                            tgt_mask: torch.Tensor) -> None:
    """Encoder-decoder: logits, encoder and decoder hidden states, encoder self-, decoder self- and
    cross-attention patterns, at the real positions of the source and of the target."""
    with torch.inference_mode():
        ref = hf_model(input_ids=src, attention_mask=src_mask, decoder_input_ids=tgt, decoder_attention_mask=tgt_mask,
                       output_hidden_states=True, output_attentions=True)
        logits, cache = run_with_cache(loaded.model, src, tgt, attention_mask=src_mask,
                                       target_attention_mask=tgt_mask)
    _close(logits, ref.logits, tgt_mask, "logits")
    for stack, hidden, mask in (("encoder", ref.encoder_hidden_states, src_mask),
                                ("decoder", ref.decoder_hidden_states, tgt_mask)):
        names, _ = stack_names(loaded, stack)
        assert len(names) == len(hidden)
        for name, h in zip(names, hidden):
            _close(cache[name], h, mask, name)
    n = loaded.cfg.n_layers
    for kind, attns, mask in (("encoder.{}.attn", ref.encoder_attentions, src_mask),
                              ("decoder.{}.attn", ref.decoder_attentions, tgt_mask),
                              ("decoder.{}.cross_attn", ref.cross_attentions, tgt_mask)):
        assert len(attns) == n
        for l, a in enumerate(attns):
            name = kind.format(l) + ".hook_pattern"
            _close(cache[name].transpose(1, 2), a.transpose(1, 2), mask, name)
    if src.shape[1] >= 6:
        cross = sharpest(cache[f"decoder.{l}.cross_attn.hook_pattern"] for l in range(n))
        assert cross > 0.5, f"cross-attention near uniform ({cross}): too flat to see errors"


def check_translator(loaded, hf_model, pairs) -> None:
    """Each (source, target-so-far) pair alone, then all as one batch padded on both sides."""
    srcs = [loaded.encode(s) for s, _ in pairs]
    tgts = [loaded.encode_target(t) for _, t in pairs]
    for s, t in zip(srcs, tgts):
        s, t = torch.tensor([s]), torch.tensor([t])
        compare_encoder_decoder(loaded, hf_model, s, torch.ones_like(s), t, torch.ones_like(t))
    pad = loaded.tokenizer.pad_id
    (s, sm), (t, tm) = pad_batch(srcs, pad), pad_batch(tgts, pad)
    assert (sm == 0).any() and (tm == 0).any(), "both sides of the batch must hold padding"
    compare_encoder_decoder(loaded, hf_model, s, sm, t, tm)
