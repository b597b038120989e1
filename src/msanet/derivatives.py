"""BIDS-derivatives metadata of ``msanet predict``: ``dataset_description.json`` and one JSON sidecar per label file.

An output folder of a BIDS input is a derivatives data set (BIDS 1.9, "Common principles: derivatives")::

    OUT/dataset_description.json                                    DatasetType "derivative", GeneratedBy
    OUT/sub-XX/[ses-YY/]anat/<stem>_label-discs_dlabel.nii.gz       disc labels on the image's grid
    OUT/sub-XX/[ses-YY/]anat/<stem>_label-discs_dlabel.json         SpatialReference, GeneratedBy

``SpatialReference`` is the image's path relative to its BIDS data set (the Spine Generic convention),
or its absolute path for an image outside any BIDS data set. ``GeneratedBy`` names msanet and its
version, the model file, its SHA-256 and the confidence threshold used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from msanet import __version__
from msanet.errors import OutputError
from msanet.fileio import sha256_file, write_text

BIDS_VERSION = "1.9.0"
DESCRIPTION_FILE = "dataset_description.json"


@dataclass(frozen=True)
class Provenance:
    """What produced a set of labels: the model file, its SHA-256 and the confidence threshold in [0, 1]."""

    model_file: Path
    model_sha256: str
    threshold: float

    @classmethod
    def of(cls, model_file: Path, threshold: float) -> "Provenance":
        return cls(model_file=Path(model_file).resolve(), model_sha256=sha256_file(model_file), threshold=float(threshold))


def generated_by(prov: Provenance) -> list[dict]:
    """The BIDS ``GeneratedBy`` list: one entry for msanet, with the model and threshold it ran with."""
    return [{
        "Name": "msanet", "Version": __version__,
        "Description": "MSA-Net intervertebral disc labelling: one voxel per disc, valued with its SCT disc number (3 = C2-C3)",
        "ModelFile": str(prov.model_file), "ModelSHA256": prov.model_sha256, "Threshold": prov.threshold,
    }]


def label_sidecar(spatial_reference: str, prov: Provenance) -> dict:
    """The JSON sidecar of one ``_label-discs_dlabel.nii.gz`` file."""
    return {"SpatialReference": spatial_reference, "GeneratedBy": generated_by(prov)}


def spatial_reference(image: Path, bids_root: Path | None) -> str:
    """``image`` relative to its BIDS data set (POSIX separators), or its absolute path outside one."""
    if bids_root is not None:
        return Path(image).resolve().relative_to(Path(bids_root).resolve()).as_posix()
    return str(Path(image).resolve())


def dataset_description(prov: Provenance, sources: Sequence[Path]) -> dict:
    """``dataset_description.json`` of a derivatives data set made from the BIDS data sets ``sources``."""
    return {
        "Name": "msanet intervertebral disc labels", "BIDSVersion": BIDS_VERSION, "DatasetType": "derivative",
        "GeneratedBy": generated_by(prov),
        "SourceDatasets": [{"URL": Path(s).resolve().as_uri()} for s in sources],
    }


def write_dataset_description(out_dir: Path, prov: Provenance, sources: Sequence[Path]) -> Path:
    """Write ``out_dir/dataset_description.json`` atomically (replacing that of an earlier derivative).

    Raises OutputError when ``out_dir`` is one of the input data sets, or already holds the description of
    a raw (non-derivative) data set.
    """
    path = Path(out_dir) / DESCRIPTION_FILE
    if any(Path(out_dir).resolve() == Path(s).resolve() for s in sources):
        raise OutputError(f"{out_dir}: the output folder is the input data set; write predictions to a folder of their own "
                          f"(e.g. DATASET/derivatives/msanet)")
    if path.exists():
        try:
            kind = json.loads(path.read_text(encoding="utf-8")).get("DatasetType", "raw")
        except (OSError, ValueError, AttributeError):
            kind = "unreadable"
        if kind != "derivative":
            raise OutputError(f"{path}: the output folder holds a {kind} data set; write predictions to a folder of their own "
                              f"(e.g. DATASET/derivatives/msanet)")
    return write_text(path, json.dumps(dataset_description(prov, sources), indent=2) + "\n")
