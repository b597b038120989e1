"""Inference: NIfTI in -> named disc labels out, in the input's own voxel grid.

For each input image: mid-sagittal 2D image (preprocess) -> heatmaps (model) -> peaks with
sub-pixel refinement, confidence threshold and anatomical order (decode) -> 3D coordinates in the
file's voxel grid and world mm -> four files, each written atomically::

    <stem>_label-discs_dlabel.nii.gz   SCT disc labels on the input's grid and header
    <stem>_discs.json / _discs.csv     name, value, voxel (float, file grid), world mm, confidence
    <stem>_qc.png                      mid-sagittal slab with the named discs (and, with ``qc_gt``, the
                                       image's ground-truth labels from BIDS derivatives/labels)

A BIDS data set keeps its ``sub-*/[ses-*/]anat`` sub-folders under the output folder.
"""

from __future__ import annotations

import csv
import io as _io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from msanet import bids, discs, io, qc
from msanet.checkpoint import Checkpoint, load_checkpoint
from msanet.decode import Detection, decode_heatmaps
from msanet.errors import ConfigError, InputNotFoundError, MsanetError, PartialFailure
from msanet.fileio import ensure_dir, remove_stale_temps, write_text
from msanet.preprocess import PreprocessConfig, SagittalImage, preprocess_volume

LABEL_SUFFIX = "_label-discs_dlabel.nii.gz"
OUTPUT_SUFFIXES = (LABEL_SUFFIX, "_discs.json", "_discs.csv", "_qc.png")
CSV_COLUMNS = ["value", "name", "voxel_i", "voxel_j", "voxel_k", "world_x_mm", "world_y_mm", "world_z_mm", "row_px", "col_px", "confidence"]


@dataclass(frozen=True)
class Job:
    """One input image and where its outputs go (``out_dir / stem + suffix``)."""

    image: Path
    out_dir: Path
    stem: str
    contrast: str


@dataclass
class Prediction:
    """Decoded discs of one image, in 2D pixels and in the file's 3D grid."""

    volume: io.Volume
    sagittal: SagittalImage
    detections: list[Detection]
    heatmaps: np.ndarray  # [V, h, w]

    def canonical_voxels(self) -> dict[int, np.ndarray]:
        return {d.value: self.sagittal.pixel_to_voxel(np.array([d.row, d.col])) for d in self.detections}


def _stem(path: Path) -> str:
    name = path.name
    return name[:-7] if name.endswith(".nii.gz") else name[:-4] if name.endswith(".nii") else path.stem


def _contrast_of(path: Path, requested: str) -> str:
    """The requested contrast, or with 'auto' the one the file name ends with (BIDS suffix, any case:
    ``sub-01_T1w.nii.gz``, ``t1w.nii.gz``); 'unknown' otherwise (the model is contrast-agnostic, so this
    is only reported)."""
    if requested != "auto":
        return requested
    stem = _stem(path).lower()
    for contrast in bids.CONTRASTS:
        suffix = contrast.lower()
        if stem == suffix or stem.endswith((f"_{suffix}", f"-{suffix}")):
            return contrast
    return "unknown"


def _is_label_file(path: Path) -> bool:
    return any(s in path.name for s in bids.LABEL_SUFFIXES) or path.name.endswith(tuple(OUTPUT_SUFFIXES))


def collect_jobs(inputs: Sequence[str | Path], out_dir: str | Path, contrast: str = "auto") -> list[Job]:
    """Expand files, folders and BIDS data sets into jobs (sorted, duplicates removed)."""
    out_dir = Path(out_dir)
    jobs: dict[Path, Job] = {}
    for raw in inputs:
        path = Path(raw)
        if path.is_file():
            jobs[path.resolve()] = Job(path, out_dir, _stem(path), _contrast_of(path, contrast))
        elif path.is_dir() and any(path.glob("sub-*")):
            for subject in bids.find_subjects(path):
                for c, image in sorted(subject.images.items()):
                    if contrast != "auto" and c != contrast:
                        continue
                    rel = image.parent.relative_to(path)
                    jobs[image.resolve()] = Job(image, out_dir / rel, _stem(image), c)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*.nii*") if p.name.endswith((".nii", ".nii.gz")) and not _is_label_file(p) and "derivatives" not in p.parts)
            if not found:
                raise InputNotFoundError(f"{path}: folder holds no NIfTI images")
            for image in found:
                jobs[image.resolve()] = Job(image, out_dir / image.parent.relative_to(path), _stem(image), _contrast_of(image, contrast))
        else:
            raise InputNotFoundError(f"{path}: no such file or folder")
    return sorted(jobs.values(), key=lambda j: str(j.image))


def outputs_of(job: Job) -> list[Path]:
    return [job.out_dir / f"{job.stem}{suffix}" for suffix in OUTPUT_SUFFIXES]


def _inside(volume: io.Volume, sag: SagittalImage, det: Detection) -> bool:
    """A disc can only be reported inside the scanned field of view (not in the zero padding)."""
    y, z = sag.pixel_to_voxel(np.array([det.row, det.col]))[1:]
    return -0.5 <= y <= volume.shape[1] - 0.5 and -0.5 <= z <= volume.shape[2] - 0.5


@torch.no_grad()
def predict_volume(volume: io.Volume, ckpt: Checkpoint, threshold: float | None = None) -> Prediction:
    """Run the model on one volume and decode its discs (``threshold`` overrides the calibrated one)."""
    sag = preprocess_volume(volume, ckpt.preprocess)
    image = torch.from_numpy(sag.image)[None, None]  # [1, 1, H, W]
    heat = ckpt.model(image).heatmaps[0].float().numpy()  # [V, H/4, W/4]
    values = discs.channel_values(ckpt.model_config.num_discs)
    detections = [d for d in decode_heatmaps(heat, values, stride=ckpt.stride, threshold=ckpt.threshold if threshold is None else threshold) if _inside(volume, sag, d)]
    return Prediction(volume=volume, sagittal=sag, detections=detections, heatmaps=heat)


def disc_records(pred: Prediction) -> list[dict]:
    """One plain dict per detected disc: name, value, file-grid voxel, world mm, 2D pixel, confidence."""
    records = []
    for det in pred.detections:
        canonical = pred.sagittal.pixel_to_voxel(np.array([det.row, det.col]))
        voxel = pred.volume.to_original_voxel(canonical)
        world = pred.volume.to_world_mm(canonical)
        records.append({
            "value": det.value, "name": discs.disc_name(det.value),
            "voxel": [round(float(v), 3) for v in voxel], "world_mm": [round(float(v), 3) for v in world],
            "pixel_rc": [round(det.row, 3), round(det.col, 3)], "confidence": round(float(det.confidence), 4),
        })
    return records


def display_image(pred: Prediction, ckpt: Checkpoint) -> SagittalImage:
    """The same mid-sagittal slab at display resolution (~0.5 mm, never coarser than the scan) for QC pictures."""
    pixel_mm = float(max(0.4, min(0.5, *pred.volume.spacing_mm[1:])))
    field_mm = (ckpt.preprocess.height * ckpt.preprocess.pixel_mm, ckpt.preprocess.width * ckpt.preprocess.pixel_mm)
    cfg = PreprocessConfig(pixel_mm=pixel_mm, height=int(np.ceil(field_mm[0] / pixel_mm)), width=int(np.ceil(field_mm[1] / pixel_mm)),
                           slab_mm=ckpt.preprocess.slab_mm)
    return preprocess_volume(pred.volume, cfg, centre_x=int(round(pred.sagittal.centre_x)))


def write_outputs(job: Job, pred: Prediction, ckpt: Checkpoint, overwrite: bool, reference: dict[int, np.ndarray] | None = None) -> list[Path]:
    """Write the four output files of one job atomically; the label file last.

    ``reference`` ({SCT value: canonical voxel}, e.g. the ground truth) is drawn on the QC picture too.
    """
    ensure_dir(job.out_dir)
    label_path, json_path, csv_path, png_path = outputs_of(job)
    records = disc_records(pred)
    payload = {
        "image": str(job.image), "contrast": job.contrast, "model": str(ckpt.path),
        "orientation": "".join(pred.volume.original_axcodes), "mid_sagittal_x_canonical": pred.sagittal.centre_x,
        "threshold": ckpt.threshold, "discs": records,
    }
    write_text(json_path, json.dumps(payload, indent=2) + "\n", overwrite=overwrite)
    buf = _io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([r["value"], r["name"], *r["voxel"], *r["world_mm"], *r["pixel_rc"], r["confidence"]])
    write_text(csv_path, buf.getvalue(), overwrite=overwrite)
    display = display_image(pred, ckpt)
    points = {value: display.voxel_to_pixel(xyz) for value, xyz in pred.canonical_voxels().items()}
    conf = {d.value: d.confidence for d in pred.detections}
    title = f"{job.image.name}: {len(points)} discs ({job.contrast}, model {ckpt.path.name if ckpt.path else '?'})"
    ref = None
    if reference is not None:
        ref = {value: display.voxel_to_pixel(xyz) for value, xyz in reference.items()}
        title += f"\nblue circles: ground truth ({len(ref)})"
    qc.draw_discs(display.image, points, png_path, display.pixel_mm, title=title, confidences=conf, reference=ref, overwrite=overwrite)
    io.write_disc_labels(label_path, pred.volume, pred.canonical_voxels(), overwrite=overwrite)
    return [label_path, json_path, csv_path, png_path]


def run_predict(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    model: str | Path | None = None,
    contrast: str = "auto",
    overwrite: bool = False,
    max_voxels: int = io.DEFAULT_MAX_VOXELS,
    progress: bool = True,
    threshold: float | None = None,
    qc_gt: bool = False,
) -> dict:
    """Predict every input; returns {'done': [...], 'skipped': [...], 'failed': [(path, message)]}.

    With ``qc_gt``, an image that has a disc-label file (BIDS ``derivatives/labels``) gets it drawn on its QC picture.

    One bad input does not stop the batch; a summary of failures is raised at the end as
    PartialFailure (or the single input's own error when there was only one).
    """
    if contrast not in ("auto", *bids.CONTRASTS):
        raise bids.DatasetError(f"unknown contrast {contrast!r} (expected auto, T1w or T2w)")
    if threshold is not None and not 0 <= threshold <= 1:
        raise ConfigError(f"--threshold {threshold} must be in [0, 1]")
    ckpt = load_checkpoint(model)
    jobs = collect_jobs(inputs, out_dir, contrast)
    ensure_dir(out_dir)
    done, skipped, failed = [], [], []
    for job in tqdm(jobs, desc="predict", disable=not progress or len(jobs) < 2):
        if not overwrite and all(p.exists() for p in outputs_of(job)):
            remove_stale_temps(job.out_dir)  # left by a run killed while it overwrote these outputs
            skipped.append(str(job.image))
            continue
        try:
            volume = io.load_image(job.image, max_voxels=max_voxels)
            pred = predict_volume(volume, ckpt, threshold)
            label_path = bids.find_label_file(job.image) if qc_gt else None
            reference = io.read_disc_labels(label_path, volume) if label_path is not None else None
            write_outputs(job, pred, ckpt, overwrite=True, reference=reference)
            done.append(str(job.image))
        except MsanetError as exc:
            if len(jobs) == 1:
                raise
            failed.append((str(job.image), str(exc)))
            tqdm.write(f"msanet: error: {exc}", file=sys.stderr)
    summary = {"done": done, "skipped": skipped, "failed": failed}
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(jobs)} inputs failed (listed above); the other {len(jobs) - len(failed)} were processed")
    return summary
