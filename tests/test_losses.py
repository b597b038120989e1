import math

import numpy as np
import pytest
import torch

from msanet.losses import PrototypeContrastiveLoss, heatmap_mse, pixel_classes, target_at, total_loss
from msanet.model.msanet import MSANetOutput


def _out(final, stacks, emb=None):
    return MSANetOutput(final, stacks, emb)


def test_heatmap_mse_averages_all_outputs_by_hand():
    target = torch.zeros(1, 1, 1, 2)
    out = _out(torch.tensor([[[[1.0, 0.0]]]]), [torch.tensor([[[[0.0, 0.0]]]]), torch.tensor([[[[2.0, 2.0]]]])])
    # MSEs: final 0.5, stack1 0, stack2 4 -> mean 1.5
    assert heatmap_mse(out, target).item() == pytest.approx(1.5)


def test_coarser_outputs_are_compared_with_the_pooled_target_by_hand():
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 0, 0] = 1.0  # pooled 2 x 2: 0.25 in the top-left pixel
    assert torch.equal(target_at(target, (1, 1, 4, 4)), target)
    assert torch.allclose(target_at(target, (1, 1, 2, 2)), torch.tensor([[[[0.25, 0.0], [0.0, 0.0]]]]))
    # final at the target's grid (all zero: MSE 1/16), one stack at half of it (all zero: MSE 0.25**2 / 4)
    loss = heatmap_mse(_out(torch.zeros(1, 1, 4, 4), [torch.zeros(1, 1, 2, 2)]), target)
    assert loss.item() == pytest.approx((1 / 16 + 0.0625 / 4) / 2)
    for bad in [(1, 1, 3, 3), (1, 2, 2, 2), (1, 1, 2, 4), (1, 1, 8, 8)]:
        with pytest.raises(ValueError, match="differ in shape"):
            target_at(target, bad)


def test_pixel_classes():
    target = torch.tensor([[[[0.9, 0.2, 0.0]], [[0.1, 0.6, 0.4]]]])  # [1, 2, 1, 3]
    assert pixel_classes(target, 0.5).tolist() == [[[1, 2, 0]]]


def test_contrastive_by_hand_two_classes():
    """Two pixels, orthogonal embeddings, one per class: prototypes are the embeddings themselves."""
    emb = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # [1, E=2, 1, 2]: pixel0 = (1,0), pixel1 = (0,1)
    target = torch.tensor([[[[1.0, 0.0]]]])  # [1, V=1, 1, 2]: pixel0 disc, pixel1 background
    tau, beta = 0.5, 0.3
    loss = PrototypeContrastiveLoss(tau=tau, beta=beta)(emb, target)
    # each pixel: logits (1/tau, 0) for its own class first -> CE = log(1 + exp(-1/tau)); prototypes orthogonal -> sep 0
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1 / tau)), rel=1e-5)


def test_separation_term_by_hand():
    """Prototypes at 60 degrees: cosine 0.5 -> separation = beta * 0.5 on top of the CE."""
    e1, e2 = (1.0, 0.0), (0.5, math.sqrt(3) / 2)
    emb = torch.tensor([[[[e1[0], e2[0]]], [[e1[1], e2[1]]]]])
    target = torch.tensor([[[[1.0, 0.0]]]])
    tau, beta = 1.0, 0.4
    ce = math.log(1 + math.exp(0.5 - 1.0))  # logits (1, 0.5) with own class first
    loss = PrototypeContrastiveLoss(tau=tau, beta=beta)(emb, target)
    assert loss.item() == pytest.approx(ce + beta * 0.5, rel=1e-5)


def test_prototype_is_mean_of_normalised_embeddings_by_hand():
    """Disc pixels a = (3, 0) and b = (0, 1) -> prototype (1, 1)/sqrt(2); background pixel c = (-1, 0).

    Cosines to (disc, background) prototypes: a (r, -1), b (r, 0), c (-r, 1) with r = 1/sqrt(2).
    Prototypes at cosine -r < 0 -> clamped separation 0. CE averaged over the three pixels.
    """
    emb = torch.tensor([[[[3.0, 0.0, -1.0]], [[0.0, 1.0, 0.0]]]])  # [1, E=2, 1, 3]
    target = torch.tensor([[[[0.9, 0.7, 0.1]]]])  # [1, V=1, 1, 3]: a, b disc; c background
    tau, r = 0.2, 1 / math.sqrt(2)

    def ce(own, other):
        return math.log(1 + math.exp((other - own) / tau))

    expected = (ce(r, -1) + ce(r, 0) + ce(1, -r)) / 3
    loss = PrototypeContrastiveLoss(tau=tau, beta=1.0)(emb, target)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_three_classes_by_hand():
    """Three orthonormal pixels, one per class (2 discs + background): CE = log(1 + 2 exp(-1/tau))."""
    emb = torch.eye(3).reshape(1, 3, 1, 3)  # pixel j = e_j
    target = torch.tensor([[[[0.0, 1.0, 0.0]], [[0.0, 0.0, 0.8]]]])  # pixel0 background, pixel1 disc 0, pixel2 disc 1
    tau = 0.5
    loss = PrototypeContrastiveLoss(tau=tau, beta=0.3)(emb, target)
    assert loss.item() == pytest.approx(math.log(1 + 2 * math.exp(-1 / tau)), rel=1e-5)


def test_single_class_gives_zero_with_graph():
    emb = torch.rand(1, 4, 3, 3, requires_grad=True)
    loss = PrototypeContrastiveLoss()(emb, torch.zeros(1, 2, 3, 3))
    assert loss.item() == 0.0
    loss.backward()
    assert emb.grad is not None


def test_sampling_caps_pixels_and_is_seeded(monkeypatch):
    emb, target = torch.rand(2, 4, 8, 8), torch.zeros(2, 2, 8, 8)
    target[:, 0, 2:4, 2:4] = 1.0  # 8 disc pixels, 120 background pixels
    loss_fn = PrototypeContrastiveLoss(max_pixels_per_class=5)
    seen = []
    real_ce = torch.nn.functional.cross_entropy
    spy = lambda logits, labels: seen.append(labels) or real_ce(logits, labels)  # noqa: E731
    monkeypatch.setattr(torch.nn.functional, "cross_entropy", spy)
    torch.manual_seed(1)
    a = loss_fn(emb, target)
    assert torch.bincount(seen[0]).tolist() == [5, 5]  # 5 pixels of each of the 2 classes
    torch.manual_seed(1)
    assert loss_fn(emb, target).item() == a.item()
    assert loss_fn(emb, target).item() != a.item()  # a different draw


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"embeddings \(1, 4, 3, 3\)"):
        PrototypeContrastiveLoss()(torch.rand(1, 4, 3, 3), torch.rand(1, 2, 4, 3))
    with pytest.raises(ValueError, match="differ in shape"):
        heatmap_mse(_out(torch.zeros(1, 2, 3, 3), [torch.zeros(1, 2, 3, 3)]), torch.zeros(1, 3, 3, 3))


def _one_disc_two_pixels(emb: torch.Tensor):
    """A 1 x 2 image whose first pixel is the disc, all-zero heatmap outputs, embeddings ``emb`` [1, 2, 1, 2]:
    (target, output, contrastive loss with tau 0.5 and no margin)."""
    target = torch.zeros(1, 1, 1, 2)
    target[0, 0, 0, 0] = 1.0
    out = _out(torch.zeros(1, 1, 1, 2), [torch.zeros(1, 1, 1, 2)], emb)
    return target, out, PrototypeContrastiveLoss(tau=0.5, beta=0.0)


def test_total_loss_weights_contrastive():
    emb = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    target, out, fn = _one_disc_two_pixels(emb)
    loss, parts = total_loss(out, target, fn, lambda_contrastive=0.1)
    assert parts["mse"] == pytest.approx(0.5)
    assert loss.item() == pytest.approx(0.5 + 0.1 * parts["contrastive"], rel=1e-6)
    loss2, parts2 = total_loss(out._replace(embeddings=None), target, fn)
    assert parts2["contrastive"] == 0.0 and loss2.item() == pytest.approx(0.5)


def test_total_loss_keeps_the_any_disc_channel_out_of_the_contrastive_classes():
    # pixel 0: a named disc (channel 0, and the trailing "any disc" channel); pixel 1: the any channel only; pixel 2: nothing
    target = torch.zeros(1, 2, 1, 3)
    target[0, 0, 0, 0] = 1.0
    target[0, 1, 0, :2] = 1.0
    emb = torch.tensor([[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 1.0]]]])  # pixels 1 and 2 alike
    out = _out(torch.zeros(1, 2, 1, 3), [torch.zeros(1, 2, 1, 3)], emb)
    fn = PrototypeContrastiveLoss(tau=0.5, beta=0.0)
    _, named_only = total_loss(out, target, fn, num_discs=1)
    _, both = total_loss(out, target, fn)
    assert named_only["mse"] == both["mse"] == pytest.approx(3 / 6)  # the MSE covers both channels
    assert named_only["contrastive"] == pytest.approx(float(fn(emb, target[:, :1])))
    # named only: two classes (disc; background = pixels 1 and 2), each pixel's cosine 1 to its own prototype and 0 to the
    # other: cross-entropy of logits (1, 0) / tau for every pixel = log(1 + exp(-2))
    assert named_only["contrastive"] == pytest.approx(np.log1p(np.exp(-2.0)), rel=1e-5)
    assert both["contrastive"] > named_only["contrastive"] + 0.1  # pixel 1 would be a third class, the same as background


def test_weighted_mse_leaves_zero_weight_pixels_out_by_hand():
    target = torch.zeros(1, 2, 2, 2)
    out = _out(torch.ones(1, 2, 2, 2), [torch.ones(1, 2, 1, 1)])  # error 1 everywhere; one stack at half the grid
    weight = torch.ones(1, 2, 2, 2)
    assert heatmap_mse(out, target, weight).item() == pytest.approx(heatmap_mse(out, target).item()) == pytest.approx(1.0)
    weight[0, 1] = 0.0  # channel 1 unknown
    weight[0, 0, 0, 0] = 0.0  # and one pixel of channel 0
    # final: 3 of 8 squared errors count, mean over 8 -> 3/8; stack: pooled weights (0.75, 0) -> 0.75 / 2
    assert heatmap_mse(out, target, weight).item() == pytest.approx((3 / 8 + 0.75 / 2) / 2)
    with pytest.raises(ValueError, match="weight"):
        heatmap_mse(out, target, torch.ones(1, 1, 2, 2))


def test_contrastive_leaves_unknown_pixels_out_by_hand():
    emb = torch.tensor([[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 1.0]]]])  # [1, 2, 1, 3]
    target = torch.tensor([[[[1.0, 0.0, 0.0]]]])  # pixel 0 disc, pixels 1 and 2 background
    fn = PrototypeContrastiveLoss(tau=0.5, beta=0.0)
    known = torch.tensor([[[1.0, 1.0, 0.0]]])  # pixel 2 unknown: the result is that of pixels 0 and 1 alone
    assert float(fn(emb, target, known)) == pytest.approx(float(fn(emb[..., :2], target[..., :2])), rel=1e-6)
    emb_unknown_disc = emb.clone()
    emb_unknown_disc[0, :, 0, 2] = torch.tensor([1.0, 0.0])  # an unlabelled disc looks like the labelled one:
    assert float(fn(emb_unknown_disc, target, known)) == pytest.approx(float(fn(emb, target, known)), rel=1e-6)  # no cost
    only_disc = torch.tensor([[[1.0, 0.0, 0.0]]])  # one known class left: 0
    assert float(fn(emb, target, only_disc)) == 0.0


def test_total_loss_passes_weight_and_known_on():
    emb = torch.tensor([[[[1.0, 0.0]], [[1.0, 0.0]]]])
    target, out, fn = _one_disc_two_pixels(emb)
    weight = torch.tensor([[[[0.0, 1.0]]]])
    known = torch.tensor([[[1.0, 0.0]]])
    loss, parts = total_loss(out, target, fn, 0.1, weight=weight, known=known)
    assert parts["mse"] == 0.0 and parts["contrastive"] == 0.0 and loss.item() == 0.0  # the disc pixel weighs 0; one class


@pytest.mark.parametrize("kwargs", [dict(tau=0), dict(beta=-1), dict(fg_threshold=0), dict(max_pixels_per_class=0)])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[0]):
        PrototypeContrastiveLoss(**kwargs)
