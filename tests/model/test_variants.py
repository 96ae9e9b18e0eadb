"""docs/variants.md is what model/variants.py computes from the shipped checkpoints (jsons and weights), and
the curve helpers find the right steps."""
from __future__ import annotations

from pathlib import Path

import pytest

from model import doc_block, variants, zoo
from model.train import RECIPES, build_corpus

DOC = Path(__file__).resolve().parents[2] / "docs" / "variants.md"


def test_first_reaching_and_stays_from():
    curve = [[0, {"a": 0.1}], [50, {"a": 0.96}], [100, {"a": 0.9}], [150, {"a": 0.95}], [200, {"a": 1.0}]]
    assert variants.first_reaching(curve, "a") == 50
    assert variants.stays_from(curve, "a") == 150
    assert variants.first_reaching(curve, "a", 0.99) == 200 and variants.stays_from(curve, "a", 0.99) == 200
    assert variants.first_reaching(curve, "missing") is None and variants.stays_from(curve, "missing") is None
    assert variants.stays_from(curve + [[250, {"a": 0.5}]], "a") is None


def test_doc_table_matches_the_shipped_checkpoints():
    assert doc_block.read(DOC, variants.BLOCK) == variants.markdown()


def test_every_variant_is_in_the_doc():
    assert set(variants.VARIANTS) == {m for m in RECIPES if m.startswith("tiny-gpt")}
    text = DOC.read_text()
    for m in variants.VARIANTS:
        assert f"`{m}`" in text


@pytest.mark.parametrize("model_id,tracks", [("tiny-gpt", True), ("tiny-gpt-no-residual", False)])
def test_agreement_choices_tell_tracking_from_guessing(model_id, tracks):
    """The claim in the doc: the full model follows the subject's number, the no-residual one ignores it."""
    _, train = build_corpus(RECIPES["tiny-gpt"])
    c = variants.agreement_choices(zoo.load(model_id), train)
    gap = c["plural_if_plural_subject"] - c["plural_if_singular_subject"]
    assert (gap > 0.95) if tracks else (abs(gap) < 0.1)
