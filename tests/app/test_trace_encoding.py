"""The trace route's fast JSON encoding (orjson over rounded numpy arrays) writes the same numbers as the
reference path (nested Python lists + json.dumps), with null for -inf/+inf/NaN."""
import json

import numpy as np
import pytest
import torch

from app.encoding import dumps, round_sig, to_json_data


@pytest.mark.parametrize("digits", [1, 3, 5, 10])
def test_orjson_encoding_equals_json_dumps_of_lists(digits):
    g = torch.Generator().manual_seed(digits)
    t = torch.randn(3, 5, 7, generator=g) * torch.logspace(-6, 6, 7)
    t[0, 0, 0], t[1, 2, 3], t[2, 4, 6], t[0, 1, 1] = float("-inf"), float("inf"), float("nan"), 0.0
    fast = json.loads(dumps({"data": round_sig(t, digits)}))["data"]
    reference = json.loads(json.dumps(to_json_data(t, digits), allow_nan=False))
    assert fast == reference
    assert fast[0][0][0] is None and fast[1][2][3] is None and fast[2][4][6] is None and fast[0][1][1] == 0.0


def test_round_sig_keeps_digits():
    x = torch.tensor([123456.0, 0.000123456, -9.87654, 1.0], dtype=torch.float64)
    np.testing.assert_array_equal(round_sig(x, 3), [123000.0, 0.000123, -9.88, 1.0])
    # float32 tensors are widened first, so the rounding happens on the value the model computed
    assert round_sig(torch.tensor([0.1], dtype=torch.float32), 5)[0] == 0.1


def test_non_contiguous_tensor_is_encoded():
    t = torch.arange(12.0).reshape(3, 4).T  # a transposed view, as some cached activations are
    assert json.loads(dumps({"data": round_sig(t, 5)}))["data"] == t.tolist()
