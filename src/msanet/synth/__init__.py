"""Synthetic spine MRI data sets: ``msanet synth OUT --subjects N --seed S [--scan-type T]``.

Cervical scans (the default; Spine Generic): each subject is ONE sampled anatomy (``anatomy.py``) imaged
twice, as T1w (1 mm iso, MPRAGE-like) and T2w (0.8 mm iso, SPACE-like) on the same world frame, with
site-specific scanner styles, voxel sizes and storage orientations (``contrast.py``). Thoracic, lumbar and
whole-spine scans (``scans.py``) image a whole column (``column.py``, ``morphometry.py``) and its trunk
(``trunk.py``) with clinical 2D TSE protocols; ``mixed`` draws a type per subject. Written in the Spine
Generic BIDS layout (``participants.tsv`` also records ``scan_type`` and ``lumbar_count``)::

    participants.tsv, participants.json, dataset_description.json, README
    sub-<site>NN/anat/sub-<site>NN_{T1w,T2w}.nii.gz (+ .json sidecars)
    derivatives/labels/sub-<site>NN/anat/sub-<site>NN_{T1w,T2w}_label-discs_dlabel.nii.gz

Cervical files hold a 28 mm left-right slab around the patient's midline (the mid-sagittal region the
method uses), 2D scans their 9 middle slices; int16, gzip with a zero timestamp: the same seed gives
byte-identical files. Subject
i is seeded from (seed, i), so any number of worker processes gives the same data. A run killed
part-way is continued by running the same command again (finished subjects are kept).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from tqdm import tqdm

from msanet.errors import OutputError
from msanet.fileio import ensure_dir, write_bytes, write_text
from msanet.synth import anatomy as anat
from msanet.synth.scans import SCAN_TYPES, lumbar_count_of, render_scan, scan_sidecar, scan_type_of
from msanet.synth.storage import gz, nifti_pair, place_labels
from msanet.synth.contrast import (ScannerStyle, clutter_gain, coil_sensitivity, jitter_style, randomise_style, render, sample_coil, sample_style,
                                   smooth_field, tissue_intensities)

LR_EXTENT_MM = 28.0
ORIENTATIONS = ("RPI", "LPI", "RAS", "LAS", "PSR", "ASR", "PIL", "SLA")  # nibabel axis codes ('points to')
LABEL_SUFFIX = {"current": "_label-discs_dlabel", "old": "_labels-disc-manual"}
STATE_FILE = ".msanet-synth.json"


@dataclass(frozen=True)
class Site:
    institution_id: str
    institution: str
    manufacturer: str
    model: str


def load_sites() -> list[Site]:
    """The 43 sites of the real Spine Generic multi-subject data set (CC-BY 4.0)."""
    text = (resources.files("msanet.synth") / "sites.tsv").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    return [Site(*row.split("\t")) for row in rows[1:]]


@dataclass(frozen=True)
class SiteProtocol:
    site: Site
    styles: dict[str, ScannerStyle]
    spacing: dict[str, tuple[float, float, float]]  # canonical (LR, SI, AP) mm
    orientation: dict[str, str]
    fov_mm: tuple[float, float, float]  # (LR, SI, AP)


def site_protocol(site: Site, index: int, seed: int) -> SiteProtocol:
    rng = np.random.default_rng([seed, 1_000_003, index])
    t1 = (1.0, 1.0, 1.0) if rng.random() < 0.8 else (1.2, 1.0, 1.0)
    r = rng.random()
    t2 = (0.8, 0.8, 0.8) if r < 0.7 else (2.0, 0.6, 0.6) if r < 0.85 else (1.0, 0.8, 0.8)
    return SiteProtocol(
        site=site, styles={"T1w": sample_style(rng), "T2w": sample_style(rng)}, spacing={"T1w": t1, "T2w": t2},
        orientation={"T1w": str(rng.choice(ORIENTATIONS)), "T2w": str(rng.choice(ORIENTATIONS))},
        fov_mm=(LR_EXTENT_MM, float(rng.uniform(235, 285)), float(rng.uniform(180, 320))),  # AP: the real amu_t2w scans are 384 mm
    )


def render_subject(protocol: SiteProtocol, seed: int, index: int, domain_random: bool = False, clutter: bool = False,
                   level_random: bool = False, junction_random: bool = False, c2_disc_random: bool = False,
                   t1w_dark_marrow: tuple[float, float] | None = None) -> dict:
    """One subject: {'images': {contrast: (image, labels)}, 'tissue': {contrast: canonical tissue map [X, Y, Z]},
    'canonical': {contrast: (image array, labels array)}, 'anatomy': Anatomy}. Pure function of its arguments.
    ``clutter``: soft tissues split into random blobs of random brightness (``contrast.clutter_gain``), drawn
    from a random stream of their own, so everything else is as without it. ``level_random``: the sizes and degeneration
    of the levels below C2 drawn apart from their names (``anatomy.randomise_levels``), from a stream of their own too,
    and with ``c2_disc_random`` the C2-C3 disc drawn like them (``randomise_levels(c2_disc=True)``; needs ``level_random``);
    ``junction_random``: the thoracic inlet, the lordosis-kyphosis turn and the spinous processes drawn apart from the
    C7-T1 level (``anatomy.randomise_junction``), from another stream of their own. ``t1w_dark_marrow`` (lo, hi) within
    [0, 1]: the T1w image's marrow and disc levels moved towards the real T1w crop's (``contrast.tissue_intensities``'
    ``dark_marrow``) by a share drawn uniformly in [lo, hi] from a stream of its own, returned as 't1w_dark_marrow' (0.0 without)."""
    if c2_disc_random and not level_random:
        raise ValueError("c2_disc_random draws the C2-C3 disc like the levels below it: it needs level_random")
    rng = np.random.default_rng([seed, index])
    anatomy = anat.sample_anatomy(rng, protocol.fov_mm)
    if level_random:
        anat.randomise_levels(np.random.default_rng([seed, index, 14]), anatomy.levels, c2_disc=c2_disc_random)
    if junction_random:
        anat.randomise_junction(np.random.default_rng([seed, index, 15]), anatomy)
    world_shift = rng.uniform(-15, 15, size=3)
    out = {"anatomy": anatomy, "images": {}, "tissue": {}, "canonical": {}}
    degenerated = any(lv.degenerated for lv in anatomy.levels)
    coil = sample_coil(np.random.default_rng([seed, index, 13]))  # one session, one coil: shared by both contrasts
    dark_marrow = float(np.random.default_rng([seed, index, 16]).uniform(*t1w_dark_marrow)) if t1w_dark_marrow else 0.0
    out["t1w_dark_marrow"] = dark_marrow
    for contrast in ("T1w", "T2w"):
        crng = np.random.default_rng([seed, index, 1 if contrast == "T1w" else 2])
        spacing = np.array(protocol.spacing[contrast])
        shape = tuple(int(round(f / sp)) for f, sp in zip(protocol.fov_mm, spacing))
        x_mm = np.arange(shape[0]) * spacing[0]
        yz = np.stack(np.meshgrid(np.arange(shape[1]) * spacing[1], np.arange(shape[2]) * spacing[2], indexing="ij"), axis=-1)
        s, d = anat.sd_coordinates(anatomy, yz)  # [Y, Z]
        tissue = anat.extrude(anatomy, anat.tissue_map_2d(anatomy, s, d), s, x_mm)  # [X, Y, Z]
        intens = tissue_intensities(crng, contrast, domain_random, degenerated, "low_contrast" in anatomy.pathology,
                                    dark_marrow=dark_marrow if contrast == "T1w" else 0.0)
        texture = smooth_field(crng, shape[1:], sigma_vox=1.2 / spacing[1])
        style = randomise_style(crng) if domain_random else jitter_style(protocol.styles[contrast], crng)
        gain = clutter_gain(np.random.default_rng([seed, index, 11 if contrast == "T1w" else 12]), tissue, spacing) if clutter else None
        sensitivity = coil_sensitivity(coil, tissue[tissue.shape[0] // 2], spacing) if coil is not None else None
        image = render(tissue, intens, style, crng, spacing, texture, gain=gain, coil=sensitivity)
        data = np.clip(np.rint(image), 0, 32767).astype(np.int16)
        points = {value: np.array([anatomy.midline_x, *anat.sd_to_yz(anatomy, sv, dv)]) for value, (sv, dv) in anatomy.disc_points_sd().items()}
        labels = place_labels(shape, spacing, points)
        img, lab = nifti_pair(data, labels, spacing, protocol.fov_mm, world_shift, protocol.orientation[contrast])
        out["images"][contrast] = (img, lab)
        out["tissue"][contrast] = tissue
        out["canonical"][contrast] = (data, labels)
    return out


def _sidecar(protocol: SiteProtocol, contrast: str) -> dict:
    seq = {"Siemens": {"T1w": "MPRAGE", "T2w": "SPACE"}, "GE": {"T1w": "BRAVO", "T2w": "CUBE"}, "Philips": {"T1w": "T1TFE", "T2w": "VISTA"}}
    return {
        "Manufacturer": protocol.site.manufacturer, "ManufacturersModelName": protocol.site.model, "MagneticFieldStrength": 3,
        "InstitutionName": protocol.site.institution, "SeriesDescription": f"{contrast} ({seq.get(protocol.site.manufacturer, {}).get(contrast, contrast)})",
        "RepetitionTime": 2.0 if contrast == "T1w" else 1.5, "EchoTime": 0.0037 if contrast == "T1w" else 0.12,
        "SliceThickness": protocol.spacing[contrast][0], "GeneratedBy": "msanet synth (synthetic data, not a real scan)",
    }


def subject_paths(root: Path, sid: str, label_naming: str) -> list[Path]:
    files = []
    for contrast in ("T1w", "T2w"):
        files += [root / sid / "anat" / f"{sid}_{contrast}.nii.gz", root / sid / "anat" / f"{sid}_{contrast}.json",
                  root / "derivatives" / "labels" / sid / "anat" / f"{sid}_{contrast}{LABEL_SUFFIX[label_naming]}.nii.gz"]
    return files


def _subject_row(i: int, sites: list[Site], seed: int, scan_type: str) -> dict:
    site = sites[i % len(sites)]
    rng = np.random.default_rng([seed, i, 99])
    sex = "F" if rng.random() < 0.5 else "M"
    height = int(rng.normal(165 if sex == "F" else 178, 7))
    row = {"participant_id": f"sub-{site.institution_id}{i // len(sites) + 1:02d}", "sex": sex, "age": int(rng.uniform(20, 60)),
           "height": height, "weight": int(rng.normal(62 if sex == "F" else 77, 9)), "institution_id": site.institution_id,
           "institution": site.institution, "manufacturer": site.manufacturer, "manufacturers_model_name": site.model}
    kind = scan_type_of(seed, i, scan_type)
    row["scan_type"] = kind
    row["lumbar_count"] = "n/a" if kind == "cervical" else lumbar_count_of(seed, i)
    return row


PARTICIPANT_COLUMNS = {
    "scan_type": {"Description": "field of view and protocol of the subject's scans (msanet synth --scan-type)",
                  "Levels": {"cervical": "Spine Generic 3D T1w/T2w, skull base to ~T5", "thoracic": "2D TSE, 3-4 mm sagittal slices, C-T junction to L1",
                             "lumbar": "2D TSE, 3-4 mm sagittal slices, ~T11 to the coccyx", "whole": "2D TSE in 2-3 composed stations, 600-900 mm"}},
    "lumbar_count": {"Description": "number of mobile lumbar vertebrae (4 or 6: lumbosacral transitional anatomy); n/a where the "
                                    "field of view ends above the lumbar spine (cervical scans)"},
}


@dataclass(frozen=True)
class _Job:
    """One subject for ``_work`` to write: where, which, and ``generate_dataset``'s options for it."""

    root: Path
    index: int
    row: dict  # its participants.tsv row
    protocol: SiteProtocol
    seed: int
    label_naming: str
    domain_random: bool
    cervical_options: dict  # render_subject's keyword options of cervical scans (clutter, level_random, ..., t1w_dark_marrow)


def _work(job: _Job) -> str:
    root, row, protocol = job.root, job.row, job.protocol
    sid = row["participant_id"]
    if all(p.exists() for p in subject_paths(root, sid, job.label_naming)):
        return sid  # finished by an earlier (interrupted) run
    if row["scan_type"] == "cervical":
        result = render_subject(protocol, job.seed, job.index, job.domain_random, **job.cervical_options)
        sidecars = {c: _sidecar(protocol, c) for c in result["images"]}
        if job.cervical_options.get("t1w_dark_marrow"):  # the generator's draw, for benchmarks that sort images by it
            sidecars["T1w"]["MsanetSynthDarkMarrow"] = round(result["t1w_dark_marrow"], 4)
    else:
        result = render_scan(protocol, job.seed, job.index, row["scan_type"], female=row["sex"] == "F", height_cm=row["height"],
                             domain_random=job.domain_random)
        sidecars = {c: scan_sidecar(protocol.site, result["scan"], c) for c in result["images"]}
    for contrast, (img, lab) in result["images"].items():
        write_text(root / sid / "anat" / f"{sid}_{contrast}.json", json.dumps(sidecars[contrast], indent=2) + "\n")
        write_bytes(root / "derivatives" / "labels" / sid / "anat" / f"{sid}_{contrast}{LABEL_SUFFIX[job.label_naming]}.nii.gz", gz(lab))
        write_bytes(root / sid / "anat" / f"{sid}_{contrast}.nii.gz", gz(img))  # the image last: its presence marks completion
    return sid


def generate_dataset(
    out_dir: str | Path, n_subjects: int, seed: int, *, domain_random: bool = False, n_sites: int = 42,
    workers: int | None = None, label_naming: str = "current", overwrite: bool = False, progress: bool = True,
    scan_type: str = "cervical", clutter: bool = False, level_random: bool = False, junction_random: bool = False,
    c2_disc_random: bool = False, t1w_marrow_random: bool = False,
) -> dict:
    """Write a synthetic BIDS data set; returns a summary dict (subjects, sites, bytes, scan_types: {type: count}).

    ``scan_type``: cervical (Spine Generic, the default), thoracic, lumbar, whole, or mixed (scans.py).
    The five options below change the cervical scans only (of a mixed set: its cervical subjects; the others are
    written exactly as without them); another scan type with one of them is a ValueError.
    ``clutter``: soft tissues split into random blobs of random brightness (``render_subject``).
    ``level_random``: level sizes and degeneration drawn apart from their names (``render_subject``).
    ``junction_random``: the cervicothoracic junction's cues drawn apart from the C7-T1 level (same).
    ``c2_disc_random``: with ``level_random``, the C2-C3 disc drawn like the discs below it (same).
    ``t1w_marrow_random``: each T1w image's marrow and discs drawn anywhere from fatty marrow and dark discs to the real T1w
    crop's dark marrow and bright discs (``render_subject``'s ``t1w_dark_marrow`` = (0, 1); its draw is in the T1w sidecar)."""
    if not isinstance(n_subjects, int) or n_subjects < 1:
        raise ValueError(f"subjects={n_subjects!r} must be a positive integer")
    if scan_type not in SCAN_TYPES + ("mixed",):
        raise ValueError(f"scan_type={scan_type!r} must be one of {', '.join(SCAN_TYPES)} or mixed")
    sites = load_sites()
    if not 1 <= n_sites <= len(sites):
        raise ValueError(f"sites={n_sites} must be in 1..{len(sites)}")
    if label_naming not in LABEL_SUFFIX:
        raise ValueError(f"label_naming={label_naming!r} must be 'current' or 'old'")
    for name, wanted in (("clutter", clutter), ("level-random anatomy", level_random), ("junction-random anatomy", junction_random),
                         ("t1w-marrow-random contrast", t1w_marrow_random)):
        if wanted and scan_type not in ("cervical", "mixed"):
            raise ValueError(f"{name} is drawn on cervical scans only (scan type cervical or mixed), not scan_type={scan_type!r}")
    if c2_disc_random and not level_random:
        raise ValueError("c2-disc-random draws the C2-C3 disc like the levels below it: it needs level-random")
    root = Path(out_dir)
    params = {"subjects": n_subjects, "seed": seed, "domain_random": domain_random, "sites": n_sites, "label_naming": label_naming,
              "scan_type": scan_type, **({"clutter": True} if clutter else {}),
              **({"level_random": True} if level_random else {}), **({"junction_random": True} if junction_random else {}),
              **({"c2_disc_random": True} if c2_disc_random else {}), **({"t1w_marrow_random": True} if t1w_marrow_random else {})}
    state = root / STATE_FILE
    if root.exists() and any(root.iterdir()) and not overwrite:
        same = state.exists() and {"scan_type": "cervical", **json.loads(state.read_text())} == params  # older runs were cervical
        if not same:
            raise OutputError(f"{root}: folder is not empty (use --overwrite, or rerun the exact same command to continue it)")
    ensure_dir(root)
    write_text(state, json.dumps(params) + "\n")
    sites = sites[:n_sites]
    protocols = [site_protocol(s, k, seed) for k, s in enumerate(sites)]
    rows = [_subject_row(i, sites, seed, scan_type) for i in range(n_subjects)]
    cervical_options = {"clutter": clutter, "level_random": level_random, "junction_random": junction_random,
                        "c2_disc_random": c2_disc_random, "t1w_dark_marrow": (0.0, 1.0) if t1w_marrow_random else None}
    jobs = [_Job(root, i, rows[i], protocols[i % n_sites], seed, label_naming, domain_random, cervical_options) for i in range(n_subjects)]
    workers = workers or min(os.cpu_count() or 1, 4)
    bar = tqdm(total=n_subjects, desc="synth", disable=not progress)
    if workers > 1 and n_subjects > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for _ in pool.imap_unordered(_work, jobs):
                bar.update()
    else:
        for job in jobs:
            _work(job)
            bar.update()
    bar.close()
    columns = list(rows[0])
    tsv = "\t".join(columns) + "\n" + "".join("\t".join(str(r[c]) for c in columns) + "\n" for r in rows)
    write_text(root / "participants.tsv", tsv)
    write_text(root / "participants.json", json.dumps({c: PARTICIPANT_COLUMNS.get(c, {"Description": c}) for c in columns}, indent=2) + "\n")
    write_text(root / "dataset_description.json", json.dumps({
        "Name": "msanet synthetic Spine-Generic-like data set", "BIDSVersion": "1.8.0", "DatasetType": "raw",
        "GeneratedBy": [{"Name": "msanet synth", "Description": json.dumps(params)}],
        "License": "CC0 (synthetic); site names from Spine Generic participants.tsv (CC-BY 4.0)"}, indent=2) + "\n")
    write_text(root / "README", "Synthetic spine MRI generated by `msanet synth` " + json.dumps(params) + ". Not real scans.\n")
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    kinds = [r["scan_type"] for r in rows]
    return {"root": str(root), "subjects": n_subjects, "sites": n_sites, "bytes": size,
            "scan_types": {k: kinds.count(k) for k in SCAN_TYPES if k in kinds}}


def read_participants_csv(path: Path) -> list[dict]:  # small helper for tests and benchmarks
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))
