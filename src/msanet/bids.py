"""Spine-Generic-style BIDS data sets: subjects, their images and disc labels, sites, splits.

Layout (Spine Generic, https://github.com/spine-generic/data-multi-subject)::

    participants.tsv                                   (participant_id, ..., institution_id, ...)
    sub-XXX/anat/sub-XXX_T1w.nii.gz                    (also sub-XXX/ses-YY/anat/sub-XXX_ses-YY_T1w.nii.gz)
    sub-XXX/anat/sub-XXX_T2w.nii.gz
    derivatives/labels/sub-XXX/anat/sub-XXX_T2w_label-discs_dlabel.nii.gz   (current naming)
    derivatives/labels/sub-XXX/anat/sub-XXX_T2w_labels-disc-manual.nii.gz   (older releases)

The labels may also live in a separate derivatives data set with the same ``sub-*/[ses-*/]anat``
tree (e.g. the output folder of ``msanet predict``): pass its folder as ``labels``.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from msanet.errors import DatasetError, InputNotFoundError
from msanet.fileio import write_text

CONTRASTS = ("T1w", "T2w")
LABEL_SUFFIXES = ("_label-discs_dlabel", "_labels-disc-manual")  # preferred first
SITE_COLUMN = "institution_id"
_SUBJECT_RE = re.compile(r"^sub-[A-Za-z0-9]+$")
_SESSION_RE = re.compile(r"^ses-[A-Za-z0-9]+$")


@dataclass
class Subject:
    """One subject (one session of it, in a multi-session data set): image and label paths per
    contrast, and its site.

    ``images`` / ``labels`` map a contrast ('T1w', 'T2w') to a path; a contrast without labels
    is absent from ``labels``. ``session`` is 'ses-YY', or '' in a data set without sessions.
    """

    subject_id: str
    site: str
    images: dict[str, Path] = field(default_factory=dict)
    labels: dict[str, Path] = field(default_factory=dict)
    session: str = ""

    @property
    def key(self) -> str:
        """'sub-XX' or 'sub-XX_ses-YY': the prefix of this entry's file names."""
        return f"{self.subject_id}_{self.session}" if self.session else self.subject_id


def _image_stem(path: Path) -> str:
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def find_label_file(image_path: Path, root: Path | None = None, labels: Path | None = None) -> Path | None:
    """The disc-label file of a BIDS image, or None.

    It is looked for in the labels folder ``labels`` (a derivatives data set with the same
    ``sub-*/[ses-*/]anat`` tree), by default ``root/derivatives/labels``; ``root`` defaults to the
    folder that holds the image's ``sub-*`` folder.
    """
    image_path = Path(image_path)
    parts = image_path.parts
    sub_index = next((i for i in range(len(parts) - 1, -1, -1) if _SUBJECT_RE.match(parts[i])), None)
    if sub_index is None:
        return None
    root = Path(root) if root is not None else Path(*parts[:sub_index]) if sub_index > 0 else Path(".")
    labels_dir = Path(labels) if labels is not None else root / "derivatives" / "labels"
    rel_dir = Path(*parts[sub_index:-1])
    stem = _image_stem(image_path)
    for suffix in LABEL_SUFFIXES:
        for ext in (".nii.gz", ".nii"):
            candidate = labels_dir / rel_dir / f"{stem}{suffix}{ext}"
            if candidate.is_file():
                return candidate
    return None


def is_bids_dataset(folder: str | Path) -> bool:
    """True when ``folder`` holds a BIDS tree: a ``sub-*/anat`` or ``sub-*/ses-*/anat`` folder."""
    folder = Path(folder)
    return any(p.is_dir() for pattern in ("sub-*/anat", "sub-*/ses-*/anat") for p in folder.glob(pattern))


def labels_complete(root: str | Path) -> bool:
    """True when every disc in the data set's images is labelled: a set made by ``msanet synth`` (its
    ``dataset_description.json`` names it in ``GeneratedBy``). Real data sets label a range of discs (Spine Generic:
    about C1-C2 .. T1-T2; amu_t2w: C2-C3 .. T2-T3 or lower) while their images show more, so for them an
    unlabelled disc is unknown, not absent (see ``dataset.DiscDataset``)."""
    try:
        description = json.loads((Path(root) / "dataset_description.json").read_text())
    except (OSError, ValueError):
        return False
    generated = description.get("GeneratedBy", []) if isinstance(description, dict) else []
    return isinstance(generated, list) and any(isinstance(g, dict) and g.get("Name") == "msanet synth" for g in generated)


def find_images(root: str | Path, contrasts: tuple[str, ...] = CONTRASTS) -> list[tuple[Path, str]]:
    """Every ``sub-*/[ses-*/]anat/sub-*_<contrast>.nii[.gz]`` image of a BIDS data set with its
    contrast, sorted by path (other entities such as ``acq-`` may stand before the contrast)."""
    root = Path(root)
    found = []
    for contrast in contrasts:
        for pattern in (f"sub-*/anat/sub-*_{contrast}.nii*", f"sub-*/ses-*/anat/sub-*_{contrast}.nii*"):
            found += [(p, contrast) for p in root.glob(pattern) if p.name.endswith((".nii", ".nii.gz"))]
    return sorted(found)


def contrast_of_name(path: str | Path) -> str | None:
    """The contrast a file name ends with (BIDS suffix, any case: ``sub-01_T1w.nii.gz``,
    ``t1w.nii.gz``, ``scan-t2w.nii``; label suffixes are ignored), or None."""
    stem = label_stem(path).lower()
    for contrast in CONTRASTS:
        suffix = contrast.lower()
        if stem == suffix or stem.endswith((f"_{suffix}", f"-{suffix}")):
            return contrast
    return None


def find_label_files(folder: str | Path) -> list[Path]:
    """Every disc-label file (``*_label-discs_dlabel.nii[.gz]``, ``*_labels-disc-manual.nii[.gz]``) under ``folder``, sorted."""
    names = tuple(f"{suffix}{ext}" for suffix in LABEL_SUFFIXES for ext in (".nii.gz", ".nii"))
    return sorted(p for p in Path(folder).rglob("*.nii*") if p.name.endswith(names) and p.is_file())


def label_stem(path: str | Path) -> str:
    """The image stem a label file belongs to (``sub-01_T2w`` for ``sub-01_T2w_label-discs_dlabel.nii.gz``)."""
    stem = _image_stem(Path(path))
    for suffix in LABEL_SUFFIXES:
        stem = stem.removesuffix(suffix)
    return stem


def entity(name: str, key: str) -> str | None:
    """The BIDS entity ``key-value`` of a file name (``entity('sub-01_ses-2_T1w.nii.gz', 'ses')`` is 'ses-2'), or None."""
    return next((part for part in name.split(".")[0].split("_") if part.startswith(f"{key}-")), None)


def read_participants(root: str | Path) -> dict[str, dict[str, str]]:
    """participants.tsv -> {participant_id: row}. Raises DatasetError when missing or malformed."""
    path = Path(root) / "participants.tsv"
    if not path.is_file():
        raise DatasetError(f"{path}: participants.tsv is missing")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read participants.tsv ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows or "participant_id" not in rows[0]:
        raise DatasetError(f"{path}: malformed participants.tsv (no 'participant_id' column in the header)")
    header = rows[0]
    table: dict[str, dict[str, str]] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetError(f"{path}: malformed participants.tsv (line {line_no} has {len(row)} columns, header has {len(header)})")
        record = dict(zip(header, row))
        table[record["participant_id"]] = record
    return table


def find_subjects(root: str | Path, contrasts: tuple[str, ...] = CONTRASTS, require_labels: bool = False,
                  labels: str | Path | None = None) -> list[Subject]:
    """Discover the subjects of a BIDS data set, sorted by id (one entry per session in a
    multi-session data set, sorted by id and session).

    Sites come from participants.tsv's ``institution_id`` column ('n/a' when the file or the
    column is missing). Disc labels are looked for in ``labels`` (default ``root/derivatives/labels``,
    see ``find_label_file``). With ``require_labels`` only image/label pairs are kept.
    Raises InputNotFoundError (no data set or labels folder), DatasetError (no subjects, unknown
    contrast, malformed participants.tsv).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputNotFoundError(f"{root}: no such data set folder")
    if labels is not None and not Path(labels).is_dir():
        raise InputNotFoundError(f"{labels}: no such labels folder")
    for contrast in contrasts:
        if contrast not in CONTRASTS:
            raise DatasetError(f"unknown contrast {contrast!r} (expected one of {', '.join(CONTRASTS)})")
    participants: dict[str, dict[str, str]] = {}
    if (root / "participants.tsv").exists():
        participants = read_participants(root)
    subjects: dict[tuple[str, str], Subject] = {}
    images = find_images(root, contrasts)
    for image, contrast in images:
        sid = image.name.split("_")[0]
        session = image.parent.parent.name if _SESSION_RE.match(image.parent.parent.name) else ""
        site = participants.get(sid, {}).get(SITE_COLUMN, "n/a") or "n/a"
        subject = subjects.setdefault((sid, session), Subject(subject_id=sid, site=site, session=session))
        label = find_label_file(image, root, labels)
        if require_labels and label is None:
            continue
        subject.images[contrast] = image
        if label is not None:
            subject.labels[contrast] = label
    found = [s for _, s in sorted(subjects.items()) if s.images]
    if not found:
        what = "labelled " if require_labels else ""
        expected = f"expected sub-*/[ses-*/]anat/sub-*_{{{','.join(contrasts)}}}.nii.gz"
        if images:  # the images are there, their labels are not
            expected = f"no *_label-discs_dlabel.nii.gz for its images under {Path(labels) if labels is not None else root / 'derivatives' / 'labels'}"
        raise DatasetError(f"{root}: no {what}subjects found ({expected})")
    return found


@dataclass
class Splits:
    """Subject-level split. ``by_site``: test (and val) sites never appear in train."""

    train: list[str]
    val: list[str]
    test: list[str]
    seed: int
    by_site: bool
    test_sites: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def save(self, path: str | Path) -> Path:
        return write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "Splits":
        path = Path(path)
        try:
            d = json.loads(path.read_text())
            return cls(**d)
        except FileNotFoundError:
            raise InputNotFoundError(f"{path}: no such split file") from None
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: malformed split file ({exc})") from None


def make_splits(
    subjects: list[Subject],
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    by_site: bool = False,
) -> Splits:
    """Deterministic train/val/test split by subject (or by site, so test sites are unseen).

    The same subjects and seed always give the same split, whatever their input order.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"val_fraction={val_fraction}, test_fraction={test_fraction} must be in [0,1) and sum < 1")
    rng = np.random.default_rng(seed)
    ids = sorted({s.subject_id for s in subjects})  # the sessions of a subject stay together
    if not by_site:
        order = [ids[i] for i in rng.permutation(len(ids))]
        n_test = int(round(test_fraction * len(ids)))
        n_val = int(round(val_fraction * len(ids)))
        return Splits(
            train=sorted(order[n_test + n_val :]), val=sorted(order[n_test : n_test + n_val]),
            test=sorted(order[:n_test]), seed=seed, by_site=False,
        )
    site_of = {s.subject_id: s.site for s in subjects}
    sites = sorted(set(site_of.values()))
    if sites == ["n/a"] or len(sites) < 3:
        raise DatasetError("cannot split by site: participants.tsv with an 'institution_id' column and >= 3 sites is needed")
    order = [sites[i] for i in rng.permutation(len(sites))]
    groups: dict[str, list[str]] = {"test": [], "val": [], "train": []}
    counts = {site: sum(1 for v in site_of.values() if v == site) for site in sites}
    targets = {"test": test_fraction * len(ids), "val": val_fraction * len(ids)}
    taken = {"test": 0, "val": 0}
    for site in order:
        for part in ("test", "val"):
            if taken[part] < targets[part]:  # fill test first, then val, site by site
                groups[part].append(site)
                taken[part] += counts[site]
                break
        else:
            groups["train"].append(site)
    pick = {part: sorted(sid for sid in ids if site_of[sid] in set(group)) for part, group in groups.items()}
    return Splits(train=pick["train"], val=pick["val"], test=pick["test"], seed=seed, by_site=True, test_sites=sorted(groups["test"]))
