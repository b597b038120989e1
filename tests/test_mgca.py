import math

import pytest
import torch

from msanet.model.mgca import MGCA, GaussianContext, gaussian_excitation


def test_gaussian_excitation_by_hand():
    # pooled (1, 2, 3): mean 2, population std sqrt(2/3) -> z = (-1.2247, 0, 1.2247)
    g = gaussian_excitation(torch.tensor([[1.0, 2.0, 3.0]]), c=1.0, eps=0.0)
    z = 1 / math.sqrt(2 / 3)
    assert torch.allclose(g, torch.tensor([[math.exp(-z * z / 2), 1.0, math.exp(-z * z / 2)]]), atol=1e-6)
    g2 = gaussian_excitation(torch.tensor([[1.0, 2.0, 3.0]]), c=2.0, eps=0.0)
    assert g2[0, 0].item() == pytest.approx(math.exp(-z * z / 8), rel=1e-5)


def test_excitation_is_per_sample_and_scale_invariant():
    a = torch.tensor([[1.0, 2.0, 4.0], [10.0, 20.0, 40.0]])
    g = gaussian_excitation(a, 1.0)
    assert torch.allclose(g[0], g[1], atol=1e-4)


def test_context_reweights_channels_only():
    x = torch.rand(2, 3, 4, 5)
    y = GaussianContext()(x)
    ratio = y / x
    assert torch.allclose(ratio, ratio[:, :, :1, :1].expand_as(ratio), atol=1e-5)


def test_learnable_c_stays_positive_and_learns():
    gc = GaussianContext(c=1.0, learnable_c=True)
    assert gc.c.item() == pytest.approx(1.0, rel=1e-5)
    gc.raw_c.data.fill_(-50.0)
    assert gc.c.item() > 0
    gc.raw_c.data.fill_(0.0)
    gc(torch.rand(2, 4, 3, 3)).sum().backward()
    assert gc.raw_c.grad is not None and gc.raw_c.grad != 0


def test_mgca_is_residual_and_shape_preserving():
    m = MGCA(8)
    x = torch.rand(2, 8, 6, 6)
    assert m(x).shape == x.shape
    for p in m.parameters():
        torch.nn.init.zeros_(p)
    assert torch.allclose(m.eval()(x), x)  # zero paths -> identity through the residual


def test_invalid_c():
    with pytest.raises(ValueError, match="gca_c=0"):
        GaussianContext(c=0)
