import numpy as np
import pytest
import torch

from msanet.decode import decode_heatmaps
from msanet.heatmaps import make_heatmaps
from msanet.losses import PrototypeContrastiveLoss, total_loss
from msanet.model import MGCA, HeatmapOnly, MSANet, MSANetConfig, count_flops, count_parameters
from msanet.model.fusion import AttentionFusion

TINY = dict(width=16, depth=2, embed_dim=8)


@pytest.mark.parametrize(
    "kwargs, input_shape, heatmap_shape, has_embeddings",
    [
        (dict(TINY), (2, 1, 64, 64), (2, 11, 16, 16), True),
        (dict(TINY, num_discs=5), (1, 1, 64, 32), (1, 5, 16, 8), True),
        (dict(TINY, mgca=False, fusion=False, contrastive=False), (2, 1, 32, 64), (2, 11, 8, 16), False),
        (dict(TINY, num_stacks=1), (2, 1, 64, 64), (2, 11, 16, 16), True),
        (dict(TINY, num_stacks=3, depth=3, learnable_c=True), (1, 1, 64, 64), (1, 11, 16, 16), True),
        (dict(TINY, in_channels=2), (1, 2, 32, 32), (1, 11, 8, 8), True),
        (dict(TINY, any_disc=True), (2, 1, 64, 64), (2, 12, 16, 16), True),
        (dict(TINY, num_discs=24, any_disc=True, mgca=False, fusion=False, contrastive=False), (1, 1, 32, 32), (1, 25, 8, 8), False),
        (dict(TINY, out_stride=2), (2, 1, 64, 32), (2, 11, 32, 16), True),
        (dict(TINY, out_stride=1, any_disc=True), (1, 1, 32, 64), (1, 12, 32, 64), True),
        (dict(TINY, out_stride=1, fusion=False, in_channels=2), (1, 2, 32, 32), (1, 11, 32, 32), True),
    ],
)
def test_output_shapes(kwargs, input_shape, heatmap_shape, has_embeddings):
    cfg = MSANetConfig(**kwargs)
    out = MSANet(cfg).train()(torch.rand(*input_shape))
    assert out.heatmaps.shape == heatmap_shape
    coarse = (*heatmap_shape[:2], input_shape[2] // 4, input_shape[3] // 4)  # the stacks' 1/4 grid, whatever the out_stride
    assert len(out.stack_heatmaps) == cfg.num_stacks and all(h.shape == coarse for h in out.stack_heatmaps)
    assert (out.embeddings is not None) == has_embeddings
    if has_embeddings:
        assert out.embeddings.shape == (heatmap_shape[0], cfg.embed_dim, *coarse[2:])


def test_default_model_has_the_papers_parameter_count():
    n = count_parameters(MSANet(MSANetConfig()))
    assert abs(n - 2.96e6) <= 0.05 * 2.96e6, n


def test_switches_change_the_architecture_as_stated():
    full = MSANet(MSANetConfig(**TINY))
    assert sum(isinstance(m, MGCA) for m in full.modules()) == 2
    attention = full.fusion.attention  # features + heatmaps of both stacks -> one weight per stack and disc
    assert attention.in_channels == 2 * (16 + 11) and attention.out_channels == 2 * 11
    assert full.projection[0][0].in_channels == full.stem.shallow_channels + 2 * 16  # shallow + deep features
    no_mgca = MSANet(MSANetConfig(**TINY, mgca=False))
    assert not any(isinstance(m, MGCA) for m in no_mgca.modules())
    no_fusion = MSANet(MSANetConfig(**TINY, fusion=False)).eval()
    assert no_fusion.fusion is None
    with torch.no_grad():
        out = no_fusion(torch.rand(1, 1, 32, 32))
    assert torch.equal(out.heatmaps, out.stack_heatmaps[-1])  # final = last stack's head
    with torch.no_grad():
        out = full.eval()(torch.rand(1, 1, 32, 32))
    assert torch.allclose(out.heatmaps, (out.stack_heatmaps[0] + out.stack_heatmaps[1]) / 2, atol=1e-6)  # zero-init attention
    no_con = MSANet(MSANetConfig(**TINY, contrastive=False)).train()
    assert no_con.projection is None and no_con(torch.rand(1, 1, 32, 32)).embeddings is None
    baseline = MSANet(MSANetConfig(**TINY, mgca=False, fusion=False, contrastive=False))
    assert count_parameters(baseline) < count_parameters(no_mgca) < count_parameters(full)


def test_mgca_refines_the_stack_output_before_the_head():
    model = MSANet(MSANetConfig(**TINY)).eval()
    seen = {}
    stack = model.stacks[0]
    stack.mgca.register_forward_hook(lambda m, i, o: seen.__setitem__("mgca", o))
    stack.head.register_forward_hook(lambda m, i, o: seen.__setitem__("head_in", i[0]))
    with torch.no_grad():
        model(torch.rand(1, 1, 32, 32))
    assert seen["head_in"] is seen["mgca"]


def test_embeddings_only_when_asked_or_training():
    model = MSANet(MSANetConfig(**TINY))
    x = torch.rand(1, 1, 32, 32)
    assert model.train()(x).embeddings is not None
    assert model.train()(x, return_embeddings=False).embeddings is None
    assert model.eval()(x).embeddings is None
    assert model.eval()(x, return_embeddings=True).embeddings.shape == (1, 8, 8, 8)
    with pytest.raises(ValueError, match="contrastive=True"):
        MSANet(MSANetConfig(**TINY, contrastive=False))(x, return_embeddings=True)


def test_heatmap_only_wrapper_and_config_round_trip():
    cfg = MSANetConfig(**TINY, num_discs=4, learnable_c=True)
    assert MSANetConfig.from_dict(cfg.to_dict()) == cfg
    model = MSANet(cfg).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        y = HeatmapOnly(model)(x)
        assert isinstance(y, torch.Tensor) and torch.equal(y, model(x).heatmaps)


@pytest.mark.parametrize("any_disc, out_stride", [(False, 4), (True, 4), (True, 1), (False, 2)])
def test_every_parameter_receives_a_gradient(any_disc, out_stride):
    torch.manual_seed(0)
    # zero_heads=False: zero heads (the default) pass no gradient on the first step to the layers before them
    model = MSANet(MSANetConfig(**TINY, learnable_c=True, any_disc=any_disc, out_stride=out_stride, zero_heads=False)).train()
    f = 4 // out_stride
    target = torch.zeros(2, 11 + any_disc, 16 * f, 16 * f)
    at = lambda r, c: (slice(r * f, r * f + f), slice(c * f, c * f + f))  # noqa: E731  one 1/4-grid pixel, on the target's grid
    target[(slice(None), 1, *at(4, 5))] = 1.0
    target[(slice(None), 3, *at(10, 6))] = 1.0
    target[(slice(None), -1, *at(4, 5))] = target[(slice(None), -1, *at(10, 6))] = float(any_disc)
    if model.up is not None:  # its last conv starts at zero (so the layers before it get no gradient on the first step only)
        torch.nn.init.normal_(model.up.out.weight, std=0.1)
    out = model(torch.rand(2, 1, 64, 64))
    loss, _ = total_loss(out, target, PrototypeContrastiveLoss(max_pixels_per_class=8), num_discs=11)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not missing, missing


@pytest.mark.parametrize("kwargs", [dict(TINY), dict(TINY, mgca=False, fusion=False, contrastive=False, any_disc=True)])
def test_zero_heads_start_from_an_empty_map_and_leave_it_after_one_step(kwargs):
    torch.manual_seed(0)
    model = MSANet(MSANetConfig(**kwargs, zero_heads=True)).train()
    x, target = torch.rand(2, 1, 64, 64), torch.zeros(2, model.cfg.num_outputs, 16, 16)
    target[:, 0, 4, 5] = 1.0
    out = model(x)
    assert all(torch.equal(h, torch.zeros_like(h)) for h in [out.heatmaps, *out.stack_heatmaps])
    default = MSANet(MSANetConfig(**kwargs, zero_heads=False)).train()(x).heatmaps
    assert default.std() > 0.05  # what PyTorch's default head init gives instead
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss, _ = total_loss(out, target, PrototypeContrastiveLoss(max_pixels_per_class=8), num_discs=model.cfg.num_discs)
    loss.backward()
    assert all(torch.any(s.head.weight.grad != 0) for s in model.stacks)  # the heads learn from the first step
    optimizer.step()
    assert model(x).heatmaps[:, 0, 4, 5].mean() > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(width=0), "width=0"),
        (dict(num_discs=30), "num_discs=30"),
        (dict(depth=-1), "depth=-1"),
        (dict(num_stacks=0), "num_stacks=0"),
        (dict(embed_dim=2.5), "embed_dim=2.5"),
        (dict(in_channels=True), "in_channels=True"),
        (dict(gca_c=0.0), "gca_c=0.0"),
        (dict(gca_c=float("inf")), "gca_c=inf"),
        (dict(mgca="yes"), "mgca='yes'"),
        (dict(contrastive=1), "contrastive=1"),
        (dict(any_disc="no"), "any_disc='no'"),
        (dict(out_stride=3), "out_stride=3"),
        (dict(out_stride=True), "out_stride=True"),
        (dict(zero_heads=0), "zero_heads=0"),
    ],
)
def test_invalid_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MSANetConfig(**kwargs)


def test_bad_input_size_and_unknown_keys():
    model = MSANet(MSANetConfig(**TINY))
    with pytest.raises(ValueError, match="input size 40x32 must be divisible by 16"):
        model(torch.rand(1, 1, 40, 32))
    with pytest.raises(ValueError, match=r"input shape \(1, 3, 32, 32\)"):
        model(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"input shape \(32, 32\)"):
        model(torch.rand(32, 32))
    with pytest.raises(ValueError, match="unknown model config keys: colour"):
        MSANetConfig.from_dict({"width": 8, "colour": 1})


def test_flops_scale_with_pixels():
    model = MSANet(MSANetConfig(**TINY))
    assert count_flops(model, 64, 64) == pytest.approx(2 * count_flops(model, 64, 32), rel=0.01)


def test_tiny_model_overfits_two_discs():
    """60 Adam steps on one image: both discs are decoded within one output pixel; the absent disc is not."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    image = 0.2 * rng.random((64, 64)).astype(np.float32)
    points = {3: np.array([20.0, 30.0]), 4: np.array([40.0, 33.0])}
    for r, c in points.values():
        image[int(r) - 2 : int(r) + 3, int(c) - 6 : int(c)] += 0.7
    target = torch.from_numpy(make_heatmaps(points, (2, 3, 4), (64, 64), 4, 6.0, 1.0))[None].repeat(2, 1, 1, 1)
    x = torch.from_numpy(image)[None, None].repeat(2, 1, 1, 1)
    model = MSANet(MSANetConfig(**TINY, num_discs=3))
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    contrastive = PrototypeContrastiveLoss()
    for _ in range(60):
        loss, parts = total_loss(model(x), target, contrastive)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert parts["mse"] < 0.01
    with torch.no_grad():
        heat = model.eval()(x[:1]).heatmaps[0].numpy()
    found = {d.value: np.array([d.row, d.col]) for d in decode_heatmaps(heat, (2, 3, 4), threshold=0.3)}
    assert set(found) == {3, 4}
    for value, p in points.items():
        assert np.linalg.norm(found[value] - p) <= 4.0


def test_attention_fusion_weights_the_stacks_heatmaps():
    """final = sum_i softmax_i(attention) * h_i: the mean at initialisation, one stack when the attention says so."""
    fusion = AttentionFusion(channels=4, num_discs=3, num_stacks=2)
    features = [torch.rand(2, 4, 5, 6) for _ in range(2)]
    heatmaps = [torch.rand(2, 3, 5, 6), -torch.rand(2, 3, 5, 6)]
    assert torch.allclose(fusion(features, heatmaps), (heatmaps[0] + heatmaps[1]) / 2)
    with torch.no_grad():
        fusion.attention.bias[:3] = 50.0  # logits of stack 0 for the 3 discs
    assert torch.allclose(fusion(features, heatmaps), heatmaps[0], atol=1e-6)
    assert fusion(features, [3 * h for h in heatmaps]).abs().max() > 1  # linear in the heatmaps: no squashing
    with pytest.raises(ValueError, match="expected 2"):
        fusion(features[:1], heatmaps[:1])


@pytest.mark.parametrize("out_stride", [2, 1])
def test_an_untrained_upsampling_head_returns_the_upsampled_coarse_heatmaps(out_stride):
    """Its last conv starts at zero: the fine heatmaps are the 1/4-grid ones, bilinearly upsampled (pixel centres kept:
    coarse pixel j sits at input 4 j + 1.5, fine pixel i at s i + (s - 1) / 2)."""
    torch.manual_seed(0)
    model = MSANet(MSANetConfig(**TINY, out_stride=out_stride)).eval()
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        out = model(x)
        coarse = model.fusion(*_features_and_heatmaps(model, x))
    up = torch.nn.functional.interpolate(coarse, scale_factor=4 // out_stride, mode="bilinear", align_corners=False)
    assert torch.allclose(out.heatmaps, up, atol=1e-6)
    # a linear ramp along the rows survives the upsampling exactly away from the border
    ramp = torch.arange(8.0)[None, None, :, None].expand(1, 1, 8, 8)
    fine = torch.nn.functional.interpolate(ramp, scale_factor=4 // out_stride, mode="bilinear", align_corners=False)
    s = out_stride
    rows = torch.arange(fine.shape[2], dtype=torch.float32)
    expected = ((s * rows + (s - 1) / 2) - 1.5) / 4  # the coarse coordinate of each fine pixel centre
    inner = slice(4 // s, -(4 // s))
    assert torch.allclose(fine[0, 0, inner, 0], expected[inner], atol=1e-6)


def _features_and_heatmaps(model, x):
    latent, _, _ = model.stem(x)
    features, heatmaps = [], []
    for i, stack in enumerate(model.stacks):
        y, h = stack(latent)
        features.append(y)
        heatmaps.append(h)
        if i < len(model.stacks) - 1:
            latent = latent + model.remap_features[i](y) + model.remap_heatmaps[i](h)
    return features, heatmaps
