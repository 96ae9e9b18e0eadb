"""model/hf_tokenizer.py on tokenizer files laid out as real checkpoints lay them out: Llama 2's SentencePiece
conversion (no Metaspace step: a normalizer and a decoder that swap "▁" and " "), special roles that the files
leave out (GPT-2: the config's ids fill them) or set to null (Qwen2: no <bos>, and none is added)."""
import json

import pytest
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from model.hf_tokenizer import HFTokenizer
from tests.model.hf_fixtures import SENTENCES, byte_bpe


def llama2_style(directory):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok.train_from_iterator([s.replace(" ", "▁") for s in SENTENCES], trainer=trainer)
    directory.mkdir()
    tok.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(json.dumps(
        {"bos_token": {"content": "<s>", "special": True}, "eos_token": "</s>", "unk_token": "<unk>"}))
    return directory


def test_llama2_sentencepiece_pieces_read_as_text(tmp_path):
    tok = HFTokenizer.from_dir(llama2_style(tmp_path / "llama2"))
    ids = tok.encode("the harbour wall", bos=True)
    assert tok.decode(ids)[0] == "<s>" and "".join(tok.decode(ids[1:])) == " the harbour wall"
    assert tok.bos_id == 1 and tok.eos_id == 2 and tok.unk_id == 0 and tok.specials >= {0, 1, 2}


@pytest.mark.parametrize("null_bos", [False, True])
def test_config_ids_fill_only_the_roles_the_files_leave_out(tmp_path, null_bos):
    byte_bpe(300).save_pretrained(tmp_path)  # no special roles in tokenizer_config.json, as GPT-2's hub files
    settings = json.loads((tmp_path / "tokenizer_config.json").read_text())
    if null_bos:  # Qwen2's files: bos_token null, eos named
        settings.update(bos_token=None, eos_token="<|endoftext|>")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(settings))
    tok = HFTokenizer.from_dir(tmp_path, n_vocab=310, config_ids={"bos": 0, "eos": 0, "pad": None})
    assert tok.eos_id == 0 and len(tok.vocab) == 310 and tok.vocab[305] == "<unused 305>"
    assert tok.bos_id == (None if null_bos else 0)
    assert tok.encode("the", bos=True)[0] != 0 if null_bos else tok.encode("the", bos=True)[0] == 0
