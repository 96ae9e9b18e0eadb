import pytest
import torch

from model.config import ModelConfig
from model.transformer import build_model


def randomized(cfg: ModelConfig, seed: int = 0):
    """A model whose every parameter is drawn with a large spread, so attention patterns are far from uniform
    and a wrong step anywhere shows up as a visible numeric difference."""
    torch.manual_seed(seed)
    model = build_model(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    return model.eval()


@pytest.fixture
def make_model():
    return randomized
