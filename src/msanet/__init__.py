"""msanet: find and name every intervertebral disc on sagittal spine MRI (MSA-Net)."""

__version__ = "0.1.0"
