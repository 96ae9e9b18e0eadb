"""Tokenizer round trips and the sampler's filters, checked by hand (tests/model/test_sampling_hf.py checks them
against transformers' warpers)."""
import math

import pytest
import torch

from model.sampling import filter_logits, make_generator, sample, top_candidates
from model.tokenizer import SPECIALS, WordTokenizer

VOCAB = list(SPECIALS) + ["the", "cat", "sat", ".", ","]


def test_unknown_words_become_the_visible_unknown_token():
    tok = WordTokenizer(VOCAB)
    ids = tok.encode("The cat flew.", bos=True)
    assert tok.decode(ids) == ["<bos>", "the", "cat", "<unk>", "."]
    assert tok.split("<img src=x onerror=alert(1)>") == ["<", "img", "src", "=", "x", "onerror", "=", "alert",
                                                           "(", "1", ")", ">"]
    assert set(tok.decode(tok.encode("<img src=x>"))) == {"<unk>"}
    assert tok.detokenize(tok.encode("the cat , sat .")) == "the cat, sat."


def test_vocabulary_must_start_with_specials():
    with pytest.raises(ValueError):
        WordTokenizer(["the", "cat"])


LOGITS = torch.tensor([2.0, 1.0, 0.5, 0.5, -1.0, 3.0])
# pytest.approx's default (1e-6 relative) below compares float64 sums of the same terms taken in another order.


def test_temperature_only_is_softmax_of_scaled_logits():
    for t in (0.3, 1.0, 2.5):
        f = filter_logits(LOGITS, t)
        torch.testing.assert_close(f.probs, torch.softmax(LOGITS / t, -1))
        assert f.cut_by_top_k == 0 and f.cut_by_top_p == 0
        p = torch.softmax(LOGITS.double() / t, -1)
        assert f.entropy == pytest.approx(float(-(p * p.log()).sum()), rel=1e-9)


def test_top_k_keeps_k_most_probable_and_every_tie_of_the_kth():
    f = filter_logits(LOGITS, 1.0, top_k=3)
    assert torch.nonzero(f.probs).flatten().tolist() == [0, 1, 5]
    base = torch.softmax(LOGITS.double(), -1)
    assert f.cut_by_top_k == pytest.approx(float(base[[2, 3, 4]].sum()))
    torch.testing.assert_close(f.probs[[0, 1, 5]].double(), base[[0, 1, 5]] / base[[0, 1, 5]].sum(), check_dtype=False)
    tie = filter_logits(LOGITS, 1.0, top_k=4)  # ids 2 and 3 tie at the 4th value: both stay (as in transformers)
    assert torch.nonzero(tie.probs).flatten().tolist() == [0, 1, 2, 3, 5]
    assert tie.cut_by_top_k == pytest.approx(float(base[4]))


def test_top_p_keeps_smallest_prefix_reaching_p():
    base = torch.softmax(LOGITS.double(), -1)  # sorted ids: 5 (0.61), 0 (0.22), 1 (0.08), ...
    f = filter_logits(LOGITS, 1.0, top_p=0.7)
    assert torch.nonzero(f.probs).flatten().tolist() == [0, 5]
    assert f.cut_by_top_p == pytest.approx(1 - float(base[[0, 5]].sum()))
    assert torch.nonzero(filter_logits(LOGITS, 1.0, top_p=0.01).probs).flatten().tolist() == [5]
    assert math.isclose(float(filter_logits(LOGITS, 1.0, top_p=1.0).probs.sum()), 1.0, rel_tol=1e-6)


@pytest.mark.parametrize("bad", [dict(temperature=0), dict(temperature=-1), dict(temperature=float("nan")),
                                 dict(temperature=float("inf")), dict(top_k=0), dict(top_p=0), dict(top_p=1.5)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        filter_logits(LOGITS, **{"temperature": 1.0, **bad})


def test_same_seed_same_samples():
    probs = filter_logits(LOGITS, 1.5).probs
    draws = [[sample(probs, g) for _ in range(50)] for g in (make_generator(7), make_generator(7))]
    assert draws[0] == draws[1]
    assert len(set(draws[0])) > 2
    g = make_generator(8)
    assert [sample(probs, g) for _ in range(50)] != draws[0]


@pytest.mark.parametrize("top_k", [None, 2, 40])
def test_candidates_are_the_survivors_by_probability_then_id(top_k):
    """Ties (many equal logits) are listed by the lower id, a filtered token never is, and fewer survivors than n
    give fewer candidates; the reference is Python's own stable sort of every (prob, id) pair."""
    logits = torch.tensor([float(v) for v in torch.randint(-3, 3, (300,), generator=torch.Generator().manual_seed(5))])
    f = filter_logits(logits, 1.0, top_k=top_k)
    vocab = [f"w{i}" for i in range(300)]
    for n in (1, 7, 50):
        want = sorted((i for i in range(300) if f.probs[i] > 0), key=lambda i: (-float(f.probs[i]), i))[:n]
        got = top_candidates(logits, f, vocab, n)
        assert [c["id"] for c in got] == want
        assert [c["token"] for c in got] == [vocab[i] for i in want]
        assert all(c["logit"] == float(logits[c["id"]]) and c["prob"] == float(f.probs[c["id"]]) for c in got)
