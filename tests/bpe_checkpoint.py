"""A checkpoint folder for tests that need a byte-level BPE model before (or without) the trained english-gpt
weights: `bpe-random`, the english-gpt architecture (model.train.ENGLISH) with random weights and the shipped
english-bpe tokenizer (model/checkpoints/english-bpe.tokenizer.json, found by name in the zoo folder), beside
links to the shipped word-level tiny-gpt. Tokenization does not depend on the weights, so what a tokenizer test
sees here is what english-gpt shows."""
from __future__ import annotations

from pathlib import Path

import torch

from model import english, zoo
from model.tokenizer import BPETokenizer
from model.train import ENGLISH
from model.transformer import build_model

BPE_MODEL, WORD_MODEL = "bpe-random", "tiny-gpt"


def write_bpe_checkpoints(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = build_model(ENGLISH).eval()
    tok = BPETokenizer.from_file(zoo.CHECKPOINT_DIR / english.TOKENIZER_FILE)
    meta = {"description": "english-gpt's architecture with random weights and the shipped byte-level BPE "
                           "tokenizer (a test model)", "tokenizer": english.TOKENIZER_FILE, "training": {}}
    zoo.save(zoo.LoadedModel(BPE_MODEL, model, tok, meta), directory)
    for path in zoo.checkpoint_paths(WORD_MODEL):
        link = directory / path.name
        if not link.exists():
            link.symlink_to(path)
    return directory
