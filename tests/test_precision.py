import pytest
import torch

from msanet.losses import heatmap_mse
from msanet.model.msanet import MSANet, MSANetConfig
from msanet.precision import autocast, cpu_has_native_bf16, resolve_precision

CPU = torch.device("cpu")


@pytest.mark.parametrize("precision, expected", [("fp32", "fp32"), ("bf16", "bf16"), ("auto", "bf16" if cpu_has_native_bf16() else "fp32")])
def test_resolve_precision(precision, expected):
    assert resolve_precision(precision, CPU) == expected


@pytest.mark.parametrize("bad", ["fp16", "", "BF16"])
def test_unknown_precision_is_refused(bad):
    with pytest.raises(ValueError, match="precision="):
        resolve_precision(bad, CPU)
    with pytest.raises(ValueError, match="precision="):
        autocast(bad, CPU)


def test_bf16_follows_float32():
    """bfloat16 autocast changes the numbers by about its 8-bit mantissa, not the result (same weights, same batch).

    Eval mode (running statistics, as in predict): heatmaps within 3 %. Training mode: BatchNorm with batch
    statistics amplifies any small perturbation with depth at initialisation (float32 vs bfloat16 activations
    differ by ~1 % after the stem, tens of % at the last stack), so there the test compares what training does:
    ten Adam steps on one batch lower the loss as much in bfloat16 as in float32 (within 10 %)."""
    x, target = torch.rand(2, 1, 64, 64), torch.rand(2, 11, 16, 16) ** 8
    torch.manual_seed(0)
    # random heads: zero-initialised ones give all-zero heatmaps in both precisions, which compares nothing
    model = MSANet(MSANetConfig(width=16, depth=2, embed_dim=8, zero_heads=False)).eval()
    heatmaps = {}
    for precision in ("fp32", "bf16"):
        with torch.no_grad(), autocast(precision, CPU):
            out = model(x)
        assert out.heatmaps.dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)
        heatmaps[precision] = out.float().heatmaps
    assert float((heatmaps["bf16"] - heatmaps["fp32"]).norm() / heatmaps["fp32"].norm()) < 0.03
    assert not torch.equal(heatmaps["bf16"], heatmaps["fp32"])  # bfloat16 really ran
    final = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = MSANet(MSANetConfig(width=16, depth=2, embed_dim=8, contrastive=False)).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(10):
            with autocast(precision, CPU):
                out = model(x)
            loss = heatmap_mse(out.float(), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        assert losses[-1] < 0.9 * losses[0], (precision, losses)  # zero heads: starts at mean(target^2), ~-20 % in 10 steps
        final[precision] = losses[-1]
    assert 0.9 < final["bf16"] / final["fp32"] < 1.1, final
