"""Inference: NIfTI in -> named disc labels out, in the input's own voxel grid.

For each input image: the mid-sagittal slab over the scan's WHOLE superior-inferior and
anterior-posterior extent, at the checkpoint's ``pixel_mm`` and zero-padded to multiples of the
model's ``size_unit`` (``preprocess.preprocess_whole_scan``; any length of scan, one forward pass) ->
heatmaps (model) -> peaks with sub-pixel refinement, confidence threshold and anatomical order over the
whole scan in one pass (decode) -> the anchor the names are tied to (``msanet.anchor``: C2, sacrum or
none) -> 3D coordinates in the file's voxel grid and world mm -> five files, each written atomically::

    <stem>_label-discs_dlabel.nii.gz   SCT disc labels on the input's grid and header
    <stem>_label-discs_dlabel.json     its BIDS sidecar: SpatialReference, GeneratedBy (msanet.derivatives)
    <stem>_discs.json / _discs.csv     name, value, voxel (float, file grid), world mm, confidence; the JSON
                                       also holds the anchor, the model's disc values and the 2D grid
    <stem>_qc.png                      mid-sagittal slab with the named discs (and, with ``qc_gt``, the
                                       image's ground-truth labels from BIDS derivatives/labels)

A run on a BIDS data set also writes ``dataset_description.json``: the output folder is then a BIDS
derivatives data set that ``msanet evaluate`` and ``msanet train --labels`` read. Every run ends with one
QC page for all its images, ``qc/index.html`` (msanet.qcpage).

A BIDS data set keeps its ``sub-*/[ses-*/]anat`` sub-folders under the output folder; so does any
other folder of NIfTI images.
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

from msanet import __version__, bids, derivatives, discs, io, qc, qcpage
from msanet.anchor import ANCHORS, Anchoring, anchor_of
from msanet.checkpoint import Checkpoint, load_checkpoint
from msanet.decode import NMS_RADIUS, Detection, any_nms_radius, decode_outputs, disc_positions
from msanet.device import resolve_device
from msanet.errors import ConfigError, DatasetError, InputNotFoundError, MsanetError, PartialFailure
from msanet.fileio import ensure_dir, remove_stale_temps, write_text
from msanet.preprocess import PreprocessConfig, SagittalImage, preprocess_whole_scan
from msanet.windows import windowed_heatmaps

LABEL_SUFFIX = "_label-discs_dlabel.nii.gz"
SIDECAR_SUFFIX = "_label-discs_dlabel.json"
OUTPUT_SUFFIXES = (LABEL_SUFFIX, SIDECAR_SUFFIX, "_discs.json", "_discs.csv", "_qc.png")
QC_PAGE = Path("qc") / "index.html"  # under the output folder
CSV_COLUMNS = ["value", "name", "voxel_i", "voxel_j", "voxel_k", "world_x_mm", "world_y_mm", "world_z_mm", "row_px", "col_px", "confidence"]


@dataclass(frozen=True)
class Job:
    """One input image and where its outputs go (``out_dir / stem + suffix``)."""

    image: Path
    out_dir: Path
    stem: str
    contrast: str
    bids_root: Path | None = None  # the BIDS data set the image belongs to, if any


@dataclass
class Prediction:
    """Decoded discs of one image, in 2D pixels and in the file's 3D grid."""

    volume: io.Volume
    sagittal: SagittalImage
    detections: list[Detection]
    heatmaps: np.ndarray  # [K, h, w]: the V named channels, then the "any disc" channel when the model has one
    values: tuple[int, ...]  # SCT value of each heatmap channel
    anchoring: Anchoring

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
    return bids.contrast_of_name(path) or "unknown"


def _is_label_file(path: Path) -> bool:
    return any(s in path.name for s in bids.LABEL_SUFFIXES) or path.name.endswith(tuple(OUTPUT_SUFFIXES))


def _folder_images(folder: Path, out_dir: Path) -> list[Path]:
    """The NIfTI images anywhere under ``folder``, whatever their names: not label files, nothing under a
    ``derivatives`` folder of it, nothing inside the output folder."""
    out_dir = out_dir.resolve()
    found = []
    for path in sorted(folder.rglob("*.nii*")):
        if not path.name.endswith((".nii", ".nii.gz")) or not path.is_file() or _is_label_file(path):
            continue
        if "derivatives" in path.relative_to(folder).parts or path.resolve().is_relative_to(out_dir):
            continue
        found.append(path)
    return found


def collect_jobs(inputs: Sequence[str | Path], out_dir: str | Path, contrast: str = "auto") -> list[Job]:
    """Expand files, folders and BIDS data sets into jobs (sorted, duplicates removed).

    A folder holding a BIDS tree (``sub-*/[ses-*/]anat``) gives its T1w/T2w images; any other folder
    gives every NIfTI image under it. Both keep their sub-folders under ``out_dir``.
    """
    out_dir = Path(out_dir)
    jobs: dict[Path, Job] = {}
    for raw in inputs:
        path = Path(raw)
        if path.is_file():
            jobs[path.resolve()] = Job(path, out_dir, _stem(path), _contrast_of(path, contrast))
        elif path.is_dir() and bids.is_bids_dataset(path):
            wanted = bids.CONTRASTS if contrast == "auto" else (contrast,)
            found = bids.find_images(path, wanted)
            if not found:
                raise DatasetError(f"{path}: BIDS data set without {' or '.join(wanted)} images "
                                        f"(expected sub-*/[ses-*/]anat/sub-*_{{{','.join(wanted)}}}.nii.gz)")
            for image, c in found:
                jobs[image.resolve()] = Job(image, out_dir / image.parent.relative_to(path), _stem(image), c, bids_root=path)
        elif path.is_dir():
            found = _folder_images(path, out_dir)
            if not found:
                raise InputNotFoundError(f"{path}: folder holds no NIfTI images")
            for image in found:
                jobs[image.resolve()] = Job(image, out_dir / image.parent.relative_to(path), _stem(image), _contrast_of(image, contrast))
        else:
            raise InputNotFoundError(f"{path}: no such file or folder")
    return sorted(jobs.values(), key=lambda j: str(j.image))


def outputs_of(job: Job) -> list[Path]:
    return [job.out_dir / f"{job.stem}{suffix}" for suffix in OUTPUT_SUFFIXES]


def _qc_image(job: Job, error: str | None) -> qcpage.QcImage:
    """One image of the QC page, its discs read back from its ``_discs.json`` (also for images an earlier run did)."""
    label_path, _, json_path, _, png_path = outputs_of(job)
    payload: dict = {"discs": []}
    if error is None:
        try:
            payload = json.loads(json_path.read_text(encoding="utf-8"))
            payload["discs"] = list(payload["discs"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            payload, error = {"discs": []}, f"{json_path}: unreadable ({type(exc).__name__})"
    return qcpage.QcImage(image=job.image, labels=label_path, picture=png_path, discs=payload["discs"], error=error,
                          anchor=payload.get("anchor"), anchor_check=payload.get("anchor_check"))


def _inside(volume: io.Volume, sag: SagittalImage, row: float, col: float) -> bool:
    """A disc can only be reported inside the scanned field of view (not in the zero padding)."""
    y, z = sag.pixel_to_voxel(np.array([row, col]))[1:]
    return -0.5 <= y <= volume.shape[1] - 0.5 and -0.5 <= z <= volume.shape[2] - 0.5


@torch.no_grad()
def predict_volume(volume: io.Volume, ckpt: Checkpoint, threshold: float | None = None) -> Prediction:
    """Run the model on one whole volume and decode its discs (``threshold`` overrides the calibrated one).

    The slab's whole extent (``[H, W]``, multiples of ``size_unit``; about 512 x 192 pixels for a 900 mm x
    300 mm scan at 2 mm) goes through the network in training-size windows (``msanet.windows``: overlapping,
    max where they overlap); the heatmaps ``[K, H/s, W/s]`` (``s`` the checkpoint's stride) are decoded over the whole scan at once
    (``decode.decode_outputs``: by the "any disc" channel when the model has one),
    and detections in the padding are dropped.
    """
    sag = preprocess_whole_scan(volume, ckpt.preprocess, ckpt.model_config.size_unit)
    window = (ckpt.preprocess.height, ckpt.preprocess.width)
    heat = windowed_heatmaps(ckpt.model, sag.image, window, ckpt.stride)  # [K, H/s, W/s], s = ckpt.stride
    values = discs.channel_values(ckpt.model_config.num_discs)
    t = ckpt.threshold if threshold is None else threshold
    any_disc = ckpt.model_config.any_disc
    px = ckpt.preprocess.pixel_mm
    detections = [d for d in decode_outputs(heat, values, any_disc, stride=ckpt.stride, threshold=t, pixel_mm=px) if _inside(volume, sag, d.row, d.col)]
    unnamed = heat[-1:] if any_disc else heat  # where the discs are, whatever their names
    positions = disc_positions(unnamed, stride=ckpt.stride, threshold=t, nms_radius=any_nms_radius(ckpt.stride, px) if any_disc else NMS_RADIUS)
    rows = [r for r, c, _ in positions if _inside(volume, sag, r, c)]
    anchoring = anchor_of(detections, rows, tolerance_px=float(ckpt.stride))
    return Prediction(volume=volume, sagittal=sag, detections=detections, heatmaps=heat, values=values, anchoring=anchoring)


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
    """The same mid-sagittal slab (same midline) over the whole scan at display resolution (~0.5 mm, never
    coarser than the scan; 1 mm for scans longer than 600 mm) for QC pictures."""
    pixel_mm = float(max(0.4, min(0.5, *pred.volume.spacing_mm[1:])))
    if pred.volume.shape[1] * pred.volume.spacing_mm[1] > 600:
        pixel_mm = 1.0
    cfg = PreprocessConfig(pixel_mm=pixel_mm, slab_mm=ckpt.preprocess.slab_mm, low_percentile=ckpt.preprocess.low_percentile,
                           high_percentile=ckpt.preprocess.high_percentile)
    return preprocess_whole_scan(pred.volume, cfg, size_unit=1, midline=pred.sagittal.midline)


def write_outputs(job: Job, pred: Prediction, ckpt: Checkpoint, prov: derivatives.Provenance, overwrite: bool,
                  reference: dict[int, np.ndarray] | None = None) -> list[Path]:
    """Write the five output files of one job atomically; the label file and its sidecar last (a sidecar never
    stands without its label file).

    ``reference`` ({SCT value: canonical voxel}, e.g. the ground truth) is drawn on the QC picture too.
    """
    ensure_dir(job.out_dir)
    label_path, sidecar_path, json_path, csv_path, png_path = outputs_of(job)
    records = disc_records(pred)
    check = pred.anchoring.check
    low = qcpage.low_confidence_level(prov.threshold)
    flags = qcpage.image_flags(qcpage.QcImage(image=job.image, labels=label_path, picture=png_path, discs=records, anchor=pred.anchoring.anchor,
                                              anchor_check=None if check is None else check.to_dict()), low)
    payload = {
        "image": str(job.image), "contrast": job.contrast, "model": str(ckpt.path), "values": list(pred.values),
        "orientation": "".join(pred.volume.original_axcodes), "mid_sagittal_x_canonical": pred.sagittal.centre_x,
        "grid": pred.sagittal.grid_dict(), "threshold": prov.threshold,
        "anchor": pred.anchoring.anchor, "anchor_check": None if check is None else check.to_dict(), "discs": records,
        "flags": [{"kind": f.kind, "text": f.text} for f in flags], "low_confidence": low,
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
    title = (f"{job.image.name}: {len(points)} discs, anchor {pred.anchoring.anchor} "
             f"({job.contrast}, model {ckpt.path.name if ckpt.path else '?'})")
    ref = None
    if reference is not None:
        ref = {value: display.voxel_to_pixel(xyz) for value, xyz in reference.items()}
        title += f"\nblue circles: ground truth ({len(ref)})"
    qc.draw_discs(display.image, points, png_path, display.pixel_mm, title=title, confidences=conf, reference=ref, overwrite=overwrite)
    io.write_disc_labels(label_path, pred.volume, pred.canonical_voxels(), overwrite=overwrite)
    sidecar = derivatives.label_sidecar(derivatives.spatial_reference(job.image, job.bids_root), prov)
    write_text(sidecar_path, json.dumps(sidecar, indent=2) + "\n", overwrite=overwrite)
    return [label_path, sidecar_path, json_path, csv_path, png_path]


def run_predict(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    model: str | Path | None = None,
    contrast: str = "auto",
    overwrite: bool = False,
    max_voxels: int = io.DEFAULT_MAX_VOXELS,
    progress: bool = True,
    threshold: float | None = None,
    device: str = "auto",
    qc_gt: bool = False,
) -> dict:
    """Predict every input; returns {'done': [...], 'skipped': [...], 'failed': [(path, message)]}.

    ``device``: 'auto' (a CUDA GPU when there is one), 'cpu' or 'cuda' (msanet.device).
    With ``qc_gt``, an image that has a disc-label file (BIDS ``derivatives/labels``) gets it drawn on its QC picture.

    One bad input does not stop the batch; a summary of failures is raised at the end as
    PartialFailure (or the single input's own error when there was only one).
    """
    if contrast not in ("auto", *bids.CONTRASTS):
        raise bids.DatasetError(f"unknown contrast {contrast!r} (expected auto, T1w or T2w)")
    if threshold is not None and not 0 <= threshold <= 1:
        raise ConfigError(f"--threshold {threshold} must be in [0, 1]")
    torch_device = resolve_device(device)
    ckpt = load_checkpoint(model)
    ckpt.model.to(torch_device)
    jobs = collect_jobs(inputs, out_dir, contrast)
    prov = derivatives.Provenance.of(ckpt.path, ckpt.threshold if threshold is None else threshold)
    bids_roots = sorted({job.bids_root for job in jobs if job.bids_root is not None})
    if bids_roots:
        derivatives.write_dataset_description(Path(out_dir), prov, bids_roots)
    ensure_dir(out_dir)
    done, skipped, failed = [], [], []
    anchors = dict.fromkeys(ANCHORS, 0)  # images done this run, by the anchor that named their discs
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
            write_outputs(job, pred, ckpt, prov, overwrite=True, reference=reference)
            done.append(str(job.image))
            anchors[pred.anchoring.anchor] += 1
        except MsanetError as exc:
            if len(jobs) == 1:
                raise
            failed.append((str(job.image), str(exc)))
            tqdm.write(f"msanet: error: {exc}", file=sys.stderr)
    errors = dict(failed)
    page = Path(out_dir) / QC_PAGE
    qc_images = [_qc_image(job, errors.get(str(job.image))) for job in jobs]
    low = qcpage.low_confidence_level(prov.threshold)
    flag_kinds = [[f.kind for f in qcpage.image_flags(item, low)] for item in qc_images]
    qcpage.write_page(qc_images, page, title=f"msanet QC: {Path(out_dir).resolve().name}",
                      details=f"msanet {__version__}; model {prov.model_file.name} (SHA-256 {prov.model_sha256[:12]}...); "
                              f"confidence threshold {prov.threshold:.2f}; low confidence below {low:.2f}", low_confidence=low)
    summary = {"done": done, "skipped": skipped, "failed": failed, "qc_page": str(page), "anchors": anchors,
               "flagged": sum(1 for kinds in flag_kinds if kinds), "images": len(jobs),
               "flags": {kind: sum(kind in kinds for kinds in flag_kinds) for kind in qcpage.FLAG_KINDS if any(kind in k for k in flag_kinds)}}
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(jobs)} inputs failed (listed above); the other {len(jobs) - len(failed)} were processed")
    return summary
