"""Spine-Generic-style BIDS data sets: subjects, their images and disc labels, sites, splits.

Layout (Spine Generic, https://github.com/spine-generic/data-multi-subject)::

    participants.tsv                                   (participant_id, ..., institution_id, ...)
    sub-XXX/anat/sub-XXX_T1w.nii.gz                    (also sub-XXX/ses-YY/anat/...)
    sub-XXX/anat/sub-XXX_T2w.nii.gz
    derivatives/labels/sub-XXX/anat/sub-XXX_T2w_label-discs_dlabel.nii.gz   (current naming)
    derivatives/labels/sub-XXX/anat/sub-XXX_T2w_labels-disc-manual.nii.gz   (older releases)
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


@dataclass
class Subject:
    """One subject: image and label paths per contrast, and its site.

    ``images`` / ``labels`` map a contrast ('T1w', 'T2w') to a path; a contrast without labels
    is absent from ``labels``.
    """

    subject_id: str
    site: str
    images: dict[str, Path] = field(default_factory=dict)
    labels: dict[str, Path] = field(default_factory=dict)


def _image_stem(path: Path) -> str:
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def find_label_file(image_path: Path, root: Path | None = None) -> Path | None:
    """The disc-label file of a BIDS image under ``derivatives/labels``, or None.

    ``root`` defaults to the folder that holds the image's ``sub-*`` folder.
    """
    image_path = Path(image_path)
    parts = image_path.parts
    sub_index = next((i for i in range(len(parts) - 1, -1, -1) if _SUBJECT_RE.match(parts[i])), None)
    if sub_index is None:
        return None
    root = Path(root) if root is not None else Path(*parts[:sub_index]) if sub_index > 0 else Path(".")
    rel_dir = Path(*parts[sub_index:-1])
    stem = _image_stem(image_path)
    for suffix in LABEL_SUFFIXES:
        for ext in (".nii.gz", ".nii"):
            candidate = root / "derivatives" / "labels" / rel_dir / f"{stem}{suffix}{ext}"
            if candidate.is_file():
                return candidate
    return None


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


def find_subjects(root: str | Path, contrasts: tuple[str, ...] = CONTRASTS, require_labels: bool = False) -> list[Subject]:
    """Discover the subjects of a BIDS data set, sorted by id.

    Sites come from participants.tsv's ``institution_id`` column ('n/a' when the file or the
    column is missing). With ``require_labels`` only image/label pairs are kept.
    Raises InputNotFoundError (no folder), DatasetError (no subjects, unknown contrast,
    malformed participants.tsv).
    """
    root = Path(root)
    if not root.is_dir():
        raise InputNotFoundError(f"{root}: no such data set folder")
    for contrast in contrasts:
        if contrast not in CONTRASTS:
            raise DatasetError(f"unknown contrast {contrast!r} (expected one of {', '.join(CONTRASTS)})")
    participants: dict[str, dict[str, str]] = {}
    if (root / "participants.tsv").exists():
        participants = read_participants(root)
    subjects: dict[str, Subject] = {}
    for contrast in contrasts:
        patterns = [f"sub-*/anat/sub-*_{contrast}.nii*", f"sub-*/ses-*/anat/sub-*_{contrast}.nii*"]
        for pattern in patterns:
            for image in sorted(root.glob(pattern)):
                if not image.name.endswith((".nii", ".nii.gz")):
                    continue
                sid = image.name.split("_")[0]
                site = participants.get(sid, {}).get(SITE_COLUMN, "n/a") or "n/a"
                subject = subjects.setdefault(sid, Subject(subject_id=sid, site=site))
                label = find_label_file(image, root)
                if require_labels and label is None:
                    continue
                subject.images[contrast] = image
                if label is not None:
                    subject.labels[contrast] = label
    found = [s for s in sorted(subjects.values(), key=lambda s: s.subject_id) if s.images]
    if not found:
        what = "labelled " if require_labels else ""
        raise DatasetError(f"{root}: no {what}subjects found (expected sub-*/anat/sub-*_{{{','.join(contrasts)}}}.nii.gz)")
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
    ids = sorted(s.subject_id for s in subjects)
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
