"""Loading a Hugging Face checkpoint the way a user names it: `hf:gpt2`, `hf:EleutherAI/pythia-70m` (a hub id)
or `hf:/path/to/dir` (a directory written by `save_pretrained`).

A hub id is looked up in the local Hugging Face cache first (HF_HUB_CACHE, else HF_HOME/hub, else
~/.cache/huggingface/hub), and downloaded through `huggingface_hub` only when it is not there and the network
is allowed (HF_HUB_OFFLINE unset). Weights are read from *.safetensors (sharded or not), or, where a checkpoint
has none, from pytorch_model*.bin with torch.load(weights_only=True), which unpickles tensors only. The family's
converter (model/convert/) maps config + weights to the core; the tokenizer is the checkpoint's own
(model/hf_tokenizer.py). The result is the `LoadedModel` the app uses for its own checkpoints.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

from . import convert
from .convert.common import Weights
from .hf_tokenizer import HFTokenizer
from .transformer import build_model, after_load
from .zoo import LoadedModel

HF_PREFIX = "hf:"
FILES = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
         "special_tokens_map.json", "vocab.json", "vocab.txt", "merges.txt", "*.spm", "*.model",
         "*.safetensors", "*.safetensors.index.json"]
FALLBACK_FILES = ["pytorch_model*.bin", "pytorch_model.bin.index.json"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelNotFound(LookupError):
    """The spec names nothing that can be loaded here; the message says what to do."""


def cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time (as huggingface_hub does at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def is_path(ref: str) -> bool:
    """A directory is written as a path (/abs, ./rel, ../rel, ~/...); anything else is a hub id."""
    return ref.startswith(("/", "./", "../", "~"))


def model_id(ref: str) -> str:
    """The API id of `hf:<ref>`: the hub id as written, or the directory's name."""
    return Path(ref).expanduser().resolve().name if is_path(ref) else ref


def _how_to_get(repo: str) -> str:
    return (f"download it once where the network allows (hf download {repo}, or "
            f"python -c \"import huggingface_hub; huggingface_hub.snapshot_download('{repo}')\") into the cache "
            f"{cache_dir()} (HF_HUB_CACHE / HF_HOME choose another), or give a directory: hf:/path/to/dir")


def resolve(ref: str, allow_download: bool | None = None) -> Path:
    """The local directory holding `ref` (a hub id or a directory), downloading a hub id only if it is not in
    the cache and downloads are allowed (default: unless HF_HUB_OFFLINE is set)."""
    if is_path(ref):
        path = Path(ref).expanduser().resolve()
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"{path} is not a Hugging Face checkpoint directory (no config.json); save one with "
                                "model.save_pretrained(dir) and tokenizer.save_pretrained(dir)")
        return path
    if not _HUB_ID.match(ref):
        raise ModelNotFound(f"{ref!r} is neither a directory nor a hub id like 'gpt2' or 'EleutherAI/pythia-70m'")
    try:
        import huggingface_hub
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as e:  # pragma: no cover - the hf extra installs it
        raise ModelNotFound(f"loading hub ids needs huggingface_hub: pip install -e \".[hf]\" ({e})") from e
    cache = cache_dir()
    allow = (not offline()) if allow_download is None else allow_download
    try:
        path = Path(huggingface_hub.snapshot_download(ref, cache_dir=cache, local_files_only=True))
        if _weight_files(path)[0] or not allow:  # cached (without weights: a listing fetched config.json only)
            return path
    except LocalEntryNotFoundError:
        pass
    if not allow:
        raise ModelNotFound(f"{ref} is not in the Hugging Face cache ({cache}) and downloads are off "
                            f"(HF_HUB_OFFLINE); {_how_to_get(ref)}")
    try:
        path = Path(huggingface_hub.snapshot_download(ref, cache_dir=cache, allow_patterns=FILES))
        if not _weight_files(path)[0]:
            path = Path(huggingface_hub.snapshot_download(ref, cache_dir=cache, allow_patterns=FILES + FALLBACK_FILES))
        return path
    except Exception as e:  # no network, unknown repo, gated repo: say so
        raise ModelNotFound(f"{ref} is not in the Hugging Face cache ({cache}) and could not be downloaded "
                            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                            f"{_how_to_get(ref)}") from e


def resolve_config(ref: str, allow_download: bool | None = None) -> Path:
    """A directory holding `ref`'s config.json: the checkpoint itself when it is local or cached, else (downloads
    allowed) a snapshot of config.json alone, so that a listing never fetches weights."""
    try:
        return resolve(ref, allow_download=False)
    except ModelNotFound:
        allow = (not offline()) if allow_download is None else allow_download
        if is_path(ref) or not allow:
            raise
    import huggingface_hub
    try:
        return Path(huggingface_hub.hf_hub_download(ref, "config.json", cache_dir=cache_dir())).parent
    except Exception as e:
        raise ModelNotFound(f"{ref}: config.json could not be downloaded ({type(e).__name__}); "
                            f"{_how_to_get(ref)}") from e


def _weight_files(path: Path) -> tuple[list[Path], str]:
    st = sorted(path.glob("*.safetensors"))
    if st:
        return st, "safetensors"
    return sorted(path.glob("pytorch_model*.bin")), "bin"


def open_weights(path: Path, prefixes, aliases=None) -> Weights:
    """A lazy view of every tensor in the checkpoint directory (read one at a time, as the converter asks)."""
    files, kind = _weight_files(path)
    if not files:
        raise ModelNotFound(f"{path} holds no weights (*.safetensors or pytorch_model*.bin); a hub id cached "
                            "without them downloads them where the network allows (HF_HUB_OFFLINE unset)")
    where: dict[str, object] = {}
    if kind == "safetensors":
        from safetensors import safe_open
        for f in files:
            handle = safe_open(str(f), framework="pt")
            for k in handle.keys():
                where[k] = handle
        return Weights(where, lambda k: where[k].get_tensor(k), prefixes, aliases)
    for f in files:  # weights_only: tensors and plain containers only, no code is run
        state = torch.load(str(f), map_location="cpu", weights_only=True, mmap=True)
        for k, v in state.items():
            where[k] = v
    return Weights(where, lambda k: where[k], prefixes, aliases)


def read_model_type(path: Path) -> str | None:
    """config.json's model_type, without transformers (for checks at start-up)."""
    return json.loads((path / "config.json").read_text()).get("model_type")


def hf_config(path: Path):
    try:
        from transformers import AutoConfig
    except ImportError as e:  # pragma: no cover - the hf extra installs it
        raise ModelNotFound(f"reading {path}/config.json needs transformers: pip install -e \".[hf]\" ({e})") from e
    return AutoConfig.from_pretrained(str(path))


def convert_dir(path: Path):
    """(ModelConfig, core state dict, Hugging Face config, family module) of the checkpoint in `path`."""
    model_type = read_model_type(path)
    fam = convert.family(model_type)
    hf = hf_config(path)
    cfg = fam.config(hf)
    sd = fam.weights(cfg, open_weights(path, fam.PREFIXES, getattr(fam, "ALIASES", None)))
    return cfg, sd, hf, fam


def describe(api_id: str, path: Path, cfg) -> str:
    arch = {"decoder": "decoder-only", "encoder": "encoder-only", "encoder_decoder": "encoder-decoder"}[cfg.arch]
    return (f"{api_id}: Hugging Face {read_model_type(path)} checkpoint ({arch}, {cfg.n_layers} layers × "
            f"{cfg.n_heads} heads, d_model {cfg.d_model}), run in the step-by-step core")


def load_dir(path: Path, api_id: str, source: dict | None = None) -> LoadedModel:
    cfg, sd, hf, fam = convert_dir(path)
    model = build_model(cfg, device="meta")  # no memory until the converted tensors are assigned
    model.load_state_dict({k: v.contiguous() for k, v in sd.items()}, strict=True, assign=True)
    after_load(model)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    ids = {"bos": getattr(hf, "bos_token_id", None), "eos": getattr(hf, "eos_token_id", None),
           "pad": getattr(hf, "pad_token_id", None)}
    ids = {k: (v[0] if isinstance(v, list) and v else v) for k, v in ids.items()}
    tokenizer = HFTokenizer.from_dir(path, n_vocab=cfg.vocab_size, config_ids=ids)
    meta = {"description": describe(api_id, path, cfg),
            "source": {"kind": "huggingface", "model_type": hf.model_type, "family": fam.__name__.rsplit(".", 1)[-1],
                       "architectures": list(getattr(hf, "architectures", None) or []), "path": str(path),
                       **(source or {})}}
    start = getattr(hf, "decoder_start_token_id", None) if cfg.arch == "encoder_decoder" else None
    return LoadedModel(api_id, model, tokenizer, meta, decoder_start_id=start)


def load(ref: str, allow_download: bool | None = None) -> LoadedModel:
    """`ref`: what follows "hf:" in a model spec (a hub id or a directory)."""
    path = resolve(ref, allow_download)
    source = {"hub_id": ref, "revision": path.name} if not is_path(ref) else {"directory": str(path)}
    return load_dir(path, model_id(ref), source)
