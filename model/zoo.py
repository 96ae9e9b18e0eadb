"""The shipped checkpoints: `checkpoints/<id>.safetensors` (weights) + `checkpoints/<id>.json` (config,
vocabulary, description, training record). Weights are only ever read with safetensors (no pickle)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .config import ModelConfig
from .tokenizer import BPETokenizer, WordTokenizer
from .transformer import EncoderDecoder, Transformer, build_model

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_MODEL = "english-gpt"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass
class LoadedModel:
    id: str
    model: Transformer
    tokenizer: WordTokenizer | BPETokenizer  # or model.hf_tokenizer.HFTokenizer (same interface)
    meta: dict = field(default_factory=dict)  # description, training record, metrics (the json beside the weights);
    # for a Hugging Face checkpoint, "source" says where it came from (model/hub.py)
    decoder_start_id: int | None = None  # first decoder token of an encoder-decoder if not <bos> (Marian: <pad>)

    @property
    def cfg(self) -> ModelConfig:
        return self.model.cfg

    @property
    def is_encoder_decoder(self) -> bool:
        return isinstance(self.model, EncoderDecoder)

    @property
    def description(self) -> str:
        return self.meta.get("description", "")

    def encode(self, text: str) -> list[int]:
        """Decoder-only: <bos> + words (the model predicts what follows). Encoder-only: <bos> + words + <eos>
        (BERT: [CLS] ... [SEP]). Encoder-decoder source: words + <eos>. A tokenizer without a <bos> / <eos>
        (e.g. Qwen2) adds none."""
        if self.is_encoder_decoder:
            return self.tokenizer.encode(text, eos=True)
        if self.cfg.arch == "encoder":
            return self.tokenizer.encode(text, bos=True, eos=True)
        return self.tokenizer.encode(text, bos=True)

    def encode_target(self, text: str) -> list[int]:
        """Encoder-decoder decoder input: the decoder's start token (<bos>, or `decoder_start_id`) + the target
        words written so far."""
        if self.decoder_start_id is None:
            return self.tokenizer.encode(text, bos=True)
        return [self.decoder_start_id] + self.tokenizer.encode(text)


def checkpoint_paths(model_id: str, directory: Path = CHECKPOINT_DIR) -> tuple[Path, Path]:
    if not _ID.match(model_id):
        raise KeyError(model_id)
    return directory / f"{model_id}.safetensors", directory / f"{model_id}.json"


def available(directory: Path = CHECKPOINT_DIR) -> list[str]:
    """Ids of the shipped models, the default first."""
    ids = sorted(p.stem for p in directory.glob("*.json") if p.with_suffix(".safetensors").exists())
    return sorted(ids, key=lambda i: (i != DEFAULT_MODEL, i))


def save(loaded: LoadedModel, directory: Path = CHECKPOINT_DIR, dtype: torch.dtype | None = None) -> None:
    """Write the weights (as `dtype`, e.g. float16 for small snapshots; loading turns them back to float32)
    and the json. A BPE tokenizer is written once as `<name>.tokenizer.json`, named by meta["tokenizer"]."""
    directory.mkdir(parents=True, exist_ok=True)
    weights, meta_path = checkpoint_paths(loaded.id, directory)
    state = {k: v.detach().to(dtype or v.dtype).contiguous() for k, v in loaded.model.state_dict().items()}
    save_file(state, str(weights))
    meta = dict(loaded.meta, id=loaded.id, config=loaded.cfg.to_dict())
    if isinstance(loaded.tokenizer, BPETokenizer):
        # one tokenizer.json shared by every checkpoint trained with it, beside them in the zoo folder
        name = meta.setdefault("tokenizer", f"{loaded.id}.tokenizer.json")
        if not any((d / name).exists() for d in _tokenizer_dirs(directory)):
            loaded.tokenizer.save(directory / name)
    else:
        meta["vocab"] = loaded.tokenizer.vocab
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")


def _tokenizer_dirs(directory: Path) -> tuple[Path, ...]:
    """Where a checkpoint's tokenizer.json may lie: beside it, in the folder above `timeline/<id>/` (a
    snapshot's model), or in the zoo folder."""
    return directory, directory.parent.parent, CHECKPOINT_DIR


def load_tokenizer(meta: dict, directory: Path = CHECKPOINT_DIR) -> WordTokenizer | BPETokenizer:
    """The word-level vocabulary stored in the json, or the tokenizer.json it names (looked up beside the
    checkpoint, then in the zoo folder, so timeline snapshots share their model's file)."""
    if "vocab" in meta:
        return WordTokenizer(meta["vocab"])
    for folder in _tokenizer_dirs(directory):
        if (folder / meta["tokenizer"]).exists():
            return BPETokenizer.from_file(folder / meta["tokenizer"])
    raise FileNotFoundError(f"tokenizer file {meta['tokenizer']} not found beside the checkpoint")


def load(model_id: str, directory: Path = CHECKPOINT_DIR) -> LoadedModel:
    weights, meta_path = checkpoint_paths(model_id, directory)
    if not meta_path.exists() or not weights.exists():
        raise KeyError(model_id)
    meta = json.loads(meta_path.read_text())
    cfg = ModelConfig.from_dict(meta["config"])
    model = build_model(cfg)
    model.load_state_dict(load_file(str(weights)), strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    tokenizer = load_tokenizer(meta, directory)
    meta = {k: v for k, v in meta.items() if k not in ("config", "vocab", "id")}
    return LoadedModel(model_id, model, tokenizer, meta)
