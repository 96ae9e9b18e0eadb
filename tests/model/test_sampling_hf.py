"""model/sampling.py gives the distribution Hugging Face `transformers` samples from (its warpers, tests/hf_reference.py)
for the same logits and parameters: on logits with deliberate ties at the top-k and top-p boundaries, and on
random logits, small and large vocabularies (torch.sort orders ties differently above 16 elements)."""
import numpy as np
import pytest
import torch

from model.sampling import filter_logits
from tests.hf_reference import hf_filter

# The only difference from transformers is that our logits are shifted by their maximum before the division by the
# temperature: the same distribution, rounded differently (float64, ~1e-16 relative). So the kept tokens must be
# exactly the same and the probabilities equal to 1e-12 relative.
RTOL = 1e-12


def check(logits, temperature=1.0, top_k=None, top_p=None):
    ours = filter_logits(torch.as_tensor(logits), temperature, top_k, top_p)
    ref = hf_filter(logits, temperature, top_k, top_p)
    kept = ours.probs.numpy() > 0
    assert np.flatnonzero(kept).tolist() == np.flatnonzero(ref["probs"] > 0).tolist(), (temperature, top_k, top_p)
    # ours.probs is float32 (what the API sends and multinomial draws from): compare at float32 resolution
    np.testing.assert_allclose(ours.probs.numpy(), ref["probs"], rtol=1e-6, atol=1e-9)
    assert ours.cut_by_top_k == pytest.approx(ref["cut_by_top_k"], rel=RTOL, abs=1e-15)
    assert ours.cut_by_top_p == pytest.approx(ref["cut_by_top_p"], rel=RTOL, abs=1e-15)
    assert ours.entropy == pytest.approx(ref["entropy"], rel=RTOL, abs=1e-15)
    return np.flatnonzero(kept).tolist()


TIES = [2.0, 1.0, 0.5, 0.5, -1.0, 3.0, 0.5, 1.0]


@pytest.mark.parametrize("top_k,expected", [(1, [5]), (2, [0, 5]), (3, [0, 1, 5, 7]), (4, [0, 1, 5, 7]),
                                            (5, [0, 1, 2, 3, 5, 6, 7]), (8, list(range(8)))])
def test_top_k_keeps_every_token_tied_with_the_kth(top_k, expected):
    # by hand: scores sorted 3.0 (id 5), 2.0 (0), 1.0 (1, 7), 0.5 (2, 3, 6), -1.0 (4)
    assert check(TIES, top_k=top_k) == expected


def test_top_p_cut_inside_a_group_of_ties_is_the_one_transformers_makes():
    # four equal logits: probabilities 0.25 each, cumulative 0.25, 0.5, 0.75, 1 in torch.sort's order; top_p = 0.5
    # drops the first two of that order (cumulative <= 0.5), whichever torch.sort puts first
    kept = check([1.0, 1.0, 1.0, 1.0], top_p=0.5)
    assert len(kept) == 2
    assert len(check([0.0] * 32, top_p=0.5)) == 16  # 32 ties (1/32 and its sums are exact): above 16 elements
    # torch.sort is no longer an insertion sort, so which 16 is up to it; ours equals transformers anyway
    assert len(check([1.0, 1.0, 1.0, 1.0], top_p=0.3)) == 2  # 1 - 0.3 = 0.7: drops 0.25 and 0.5, keeps 0.75 and 1
    assert check([3.0, 3.0, 1.0], top_p=1e-6) in ([0], [1])  # the most probable token always stays, one of the two


@pytest.mark.parametrize("temperature,top_k,top_p", [(1.0, None, None), (0.7, 3, None), (1.3, None, 0.8),
                                                     (1.0, 3, 0.5), (0.05, None, 0.999), (2.0, 4, 0.9)])
def test_hand_made_ties(temperature, top_k, top_p):
    check(TIES, temperature, top_k, top_p)


@pytest.mark.parametrize("seed", range(40))
def test_random_logits(seed):
    g = torch.Generator().manual_seed(seed)
    vocab = [5, 16, 17, 100, 1000][seed % 5]
    logits = torch.randn(vocab, generator=g, dtype=torch.float32) * 3  # float32, like the model's
    if seed % 2:  # many exact ties: logits on a grid of halves
        logits = (logits * 2).round() / 2
    temperature = float(torch.empty(1).uniform_(0.2, 2.5, generator=g))
    top_k = [None, 1, 3, vocab // 2, vocab][seed % 5]
    top_p = [None, 0.3, 0.75, 0.9, 0.99, 1.0][seed % 6]
    check(logits.numpy(), temperature, top_k, top_p)
