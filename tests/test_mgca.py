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


def test_context_gives_one_weight_per_sample_and_channel():
    x = torch.rand(2, 3, 4, 5)
    g = GaussianContext()(x)
    assert g.shape == (2, 3, 1, 1) and (g > 0).all() and (g <= 1).all()
    assert torch.allclose(g[:, :, 0, 0], gaussian_excitation(x.mean(dim=(2, 3)), 1.0))


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


def test_paths_are_dense_3x3_and_7x7():
    m = MGCA(8)
    local, glob = m.local_conv, m.global_conv
    assert (local.kernel_size, local.groups, glob.kernel_size, glob.groups) == ((3, 3), 1, (7, 7), 1)


@pytest.mark.parametrize("gate_bias, path", [(100.0, "local"), (-100.0, "global")])
def test_gate_blends_the_two_paths(gate_bias, path):
    """alpha = sigmoid(gate(GAP(x))): alpha -> 1 keeps only the local path, alpha -> 0 only the global one."""
    torch.manual_seed(0)
    m = MGCA(4).eval()
    torch.nn.init.zeros_(m.gate.weight)
    torch.nn.init.constant_(m.gate.bias, gate_bias)
    x = torch.rand(2, 4, 8, 8)
    with torch.no_grad():
        local = m.local_bn(m.local_conv(x)) * m.local_gca(m.local_conv(x))
        glob = m.global_bn(m.global_conv(x)) * m.global_gca(m.global_conv(x))
        expected = x + (local if path == "local" else glob)
        assert torch.allclose(m(x), expected, atol=1e-6)
    # alpha = 0.5 (zero gate): the plain average of the two paths
    torch.nn.init.zeros_(m.gate.bias)
    with torch.no_grad():
        assert torch.allclose(m(x), x + 0.5 * (local + glob), atol=1e-6)


def test_excitation_of_a_sample_does_not_depend_on_its_batch():
    """The Gaussian context is pooled before the BatchNorm: in training mode a sample's channel weights are
    the same whatever the other samples of its batch (pooling the BatchNorm output made them batch noise)."""
    torch.manual_seed(0)
    m = MGCA(8).train()
    seen = {}
    for name, module in (("local", m.local_gca), ("global", m.global_gca)):
        module.register_forward_hook(lambda mod, inp, out, name=name: seen.__setitem__(name, out[:, :, 0, 0]))
    x = torch.rand(1, 8, 10, 10) + torch.linspace(0, 1, 8)[None, :, None, None]
    weights = []
    for others in (torch.rand(3, 8, 10, 10), 5 * torch.rand(3, 8, 10, 10)):
        m(torch.cat([x, others]))
        weights.append({k: v[0].detach() for k, v in seen.items()})
    for name in ("local", "global"):
        assert torch.allclose(weights[0][name], weights[1][name], atol=1e-5)
        assert weights[0][name].std() > 0.01  # a real channel re-weighting, not all ones


def test_paths_are_normalised_before_the_channel_weights():
    """path = BatchNorm(conv) * g: in training mode each channel of BatchNorm(conv) has batch mean 0, and g only
    rescales a sample's channels, so a path with all g = 1 is exactly the BatchNorm output."""
    torch.manual_seed(0)
    m = MGCA(6).train()
    torch.nn.init.zeros_(m.gate.weight)
    torch.nn.init.constant_(m.gate.bias, 100.0)  # alpha = 1: local path only
    x = torch.rand(4, 6, 8, 8)
    m.local_gca.register_forward_hook(lambda mod, inp, out: torch.ones_like(out))
    local = m(x) - x
    assert torch.allclose(local.mean(dim=(0, 2, 3)), torch.zeros(6), atol=1e-5)
    assert torch.allclose(local.var(dim=(0, 2, 3), unbiased=False), torch.ones(6), atol=1e-3)


def test_mgca_learnable_c_gets_gradients_in_both_paths():
    m = MGCA(4, c=0.5, learnable_c=True)
    m(torch.rand(2, 4, 8, 8)).square().sum().backward()
    for gc in (m.local_gca, m.global_gca):
        assert gc.c.item() == pytest.approx(0.5, rel=1e-5)
        assert gc.raw_c.grad is not None and gc.raw_c.grad != 0


def test_invalid_c():
    with pytest.raises(ValueError, match="gca_c=0"):
        GaussianContext(c=0)
