"""MSA-Net model: config, network, output type and complexity helpers."""

from msanet.model.mgca import MGCA, GaussianContext, gaussian_excitation
from msanet.model.msanet import (
    HeatmapOnly,
    MSANet,
    MSANetConfig,
    MSANetOutput,
    count_flops,
    count_parameters,
)

__all__ = [
    "GaussianContext",
    "HeatmapOnly",
    "MGCA",
    "MSANet",
    "MSANetConfig",
    "MSANetOutput",
    "count_flops",
    "count_parameters",
    "gaussian_excitation",
]
