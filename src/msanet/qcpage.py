"""One offline QC page per ``msanet predict`` run, ``OUT/qc/index.html`` (in the spirit of SCT's QC report).

Every image of the run gets a card: its QC picture (a relative link to its ``<stem>_qc.png``; nothing
from the web, no JavaScript), its discs with their confidences, the flags that call for a look, and
the command that opens the image with its labels in FSLeyes. Flagged images come first, worst first.

Flags (``image_flags``), in the order they sort the page:

- ``failed``: the image could not be processed (its error message);
- ``no disc``: no disc above the confidence threshold;
- ``gap``: a disc missing between two found ones (C3-C4 between C2-C3 and C4-C5);
- ``order``: a disc higher in the image than the one above it by number, or one step between
  neighbouring discs longer than ``SPACING_FACTOR`` times (or shorter than 1 / ``SPACING_FACTOR`` of)
  the local median distance per level in mm (the median of the ``SPACING_WINDOW`` steps around it: discs
  are ~15 mm apart in the neck and ~35 mm in the lumbar spine, so a whole-spine scan has no one spacing):
  a skipped or an extra disc, so the names below it may be off;
- ``count``: C2 and the sacrum are both in view and the number of discs found between them is not the
  one anatomy expects (``msanet.anchor``: a transitional vertebra, or a missed or extra disc);
- ``low confidence``: a disc whose confidence (heatmap peak, 0..1) is below ``low_confidence_level(threshold)``,
  ``LOW_CONFIDENCE_FACTOR`` times the run's confidence threshold: just above the threshold, where a model's
  peaks are as often wrong as right (a fixed level flagged every image of models whose peaks sit lower).

Each card also says which anchor named the discs (C2, sacrum or none; ``msanet.anchor``).
"""

from __future__ import annotations

import html
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from msanet import discs as disc_names
from msanet.fileio import write_text

LOW_CONFIDENCE = 0.7  # the level when no threshold is known
LOW_CONFIDENCE_FACTOR = 1.5
SPACING_FACTOR = 1.75
SPACING_WINDOW = 5  # steps: a step is compared with the median of the 5 steps centred on it
FLAG_KINDS = ("failed", "no disc", "gap", "order", "count", "low confidence")  # most severe first
ANCHOR_WORDS = {"C2": "C2 (counted down from the neck)", "sacrum": "the sacrum (counted up from L5-S1)",
                "none": "no anchor in view (the model's per-disc channels alone)"}


@dataclass(frozen=True)
class QcImage:
    """One image of a run and its outputs.

    ``discs`` are the records of its ``_discs.json`` (``value``, ``name``, ``world_mm``, ``pixel_rc``,
    ``confidence``), ``anchor`` and ``anchor_check`` its anchor fields (``msanet.anchor``; None for outputs of
    older versions); ``error`` is the message of a failed image (then the files may not exist).
    """

    image: Path
    labels: Path
    picture: Path
    discs: list[dict]
    error: str | None = None
    anchor: str | None = None
    anchor_check: dict | None = None


@dataclass(frozen=True)
class Flag:
    kind: str  # one of FLAG_KINDS
    text: str


def low_confidence_level(threshold: float) -> float:
    """Confidence below which a found disc is flagged: ``LOW_CONFIDENCE_FACTOR`` x the threshold, at most 1."""
    return min(1.0, LOW_CONFIDENCE_FACTOR * threshold)


def image_flags(item: QcImage, low_confidence: float = LOW_CONFIDENCE) -> list[Flag]:
    """What calls for a look at one image (see the module docstring), most severe first."""
    if item.error is not None:
        return [Flag("failed", item.error)]
    found = sorted(item.discs, key=lambda d: d["value"])
    if not found:
        return [Flag("no disc", "")]
    flags = []
    values = [int(d["value"]) for d in found]
    missing = sorted(set(range(values[0], values[-1] + 1)) - set(values))
    if missing:
        flags.append(Flag("gap", f"{', '.join(disc_names.disc_name(v) for v in missing)} missing"))
    for upper, lower in zip(found, found[1:]):
        if lower["pixel_rc"][0] <= upper["pixel_rc"][0]:
            flags.append(Flag("order", f"{lower['name']} is not below {upper['name']}"))
    steps = [float(np.linalg.norm(np.subtract(b["world_mm"], a["world_mm"]))) / (b["value"] - a["value"]) for a, b in zip(found, found[1:])]
    if len(steps) >= 2:
        half = SPACING_WINDOW // 2
        for i, ((a, b), step) in enumerate(zip(zip(found, found[1:]), steps)):
            median = float(np.median(steps[max(0, i - half) : i + half + 1]))
            if median > 0 and not 1 / SPACING_FACTOR <= step / median <= SPACING_FACTOR:
                flags.append(Flag("order", f"{a['name']} to {b['name']}: {step:.0f} mm per level, median {median:.0f} mm "
                                           f"(a skipped or an extra disc?)"))
    check = item.anchor_check
    if check and not check.get("ok", True):
        flags.append(Flag("count", f"{check['from']} to {check['to']}: {check['found']} discs between, anatomy expects "
                                   f"{check['expected']} (a transitional vertebra, or a missed or extra disc?)"))
    low = [d for d in found if d["confidence"] < low_confidence]
    if low:
        flags.append(Flag("low confidence", ", ".join(f"{d['name']} {d['confidence']:.2f}" for d in low)))
    return flags


def fsleyes_command(image: Path, labels: Path) -> str:
    """The shell command that opens ``image`` with its disc labels in FSLeyes (absolute, quoted paths)."""
    return (f"fsleyes {shlex.quote(str(Path(image).resolve()))} -cm greyscale "
            f"{shlex.quote(str(Path(labels).resolve()))} -cm subcortical")


def _severity(flags: list[Flag]) -> int:
    return min((FLAG_KINDS.index(f.kind) for f in flags), default=len(FLAG_KINDS))


def _href(target: Path, page: Path) -> str:
    """``target`` as a URL relative to the page's folder."""
    return quote(os.path.relpath(Path(target).resolve(), Path(page).resolve().parent).replace(os.sep, "/"))


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#1d1d1f;background:#f6f6f4}
h1{font-size:22px;margin:0 0 .2em} .meta{color:#555;font-size:13px;margin-bottom:1em}
table{border-collapse:collapse;font-size:13px;background:#fff} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#eee} .ok{color:#2a7d2a} a{color:#1a5fb4}
.flag{display:inline-block;border-radius:3px;padding:1px 6px;margin:1px 4px 1px 0;font-size:12px;color:#fff}
.flag-failed,.flag-no-disc{background:#b3261e} .flag-gap,.flag-order,.flag-count{background:#c75300} .flag-low-confidence{background:#8a6d00}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:14px;margin-top:1.2em}
.card{background:#fff;border:1px solid #ddd;border-left:6px solid #2a7d2a;padding:10px;display:flex;gap:12px}
.card.flagged{border-left-color:#c75300} .card.severe{border-left-color:#b3261e}
.card img{width:280px;height:auto;border:1px solid #ccc} .card h2{font-size:15px;margin:0 0 2px;word-break:break-all}
.small{font-size:12px;color:#555;margin:6px 0 2px} .path{margin:0 0 6px;word-break:break-all}
.cmd{font-family:monospace;font-size:11px;background:#f0f0f0;padding:4px 6px;word-break:break-all;white-space:pre-wrap;user-select:all}
.nopic{width:280px;height:120px;display:flex;align-items:center;justify-content:center;background:#eee;color:#777}
"""


def _lowest_confidence(item: QcImage) -> str:
    return f"{min(d['confidence'] for d in item.discs):.2f}" if item.discs else "-"


def _flag_badges(flags: list[Flag]) -> str:
    if not flags:
        return "<span class='ok'>no flag</span>"
    return "".join(f"<span class='flag flag-{f.kind.replace(' ', '-')}'>{html.escape(f.kind + (': ' + f.text if f.text else ''))}</span>"
                   for f in flags)


def _card(index: int, item: QcImage, flags: list[Flag], page: Path) -> str:
    severity = _severity(flags)
    kind = "severe" if severity <= FLAG_KINDS.index("no disc") else "flagged" if flags else ""
    if item.error is None and item.picture.exists():
        href = _href(item.picture, page)
        picture = f"<a href='{href}'><img src='{href}' alt='{html.escape(item.picture.name)}'></a>"
    else:
        picture = "<div class='nopic'>no picture</div>"
    rows = "".join(f"<tr><td>{html.escape(d['name'])}</td><td>{d['value']}</td><td>{d['confidence']:.2f}</td>"
                   f"<td>{', '.join(f'{v:.1f}' for v in d['world_mm'])}</td></tr>" for d in sorted(item.discs, key=lambda d: d["value"]))
    table = (f"<table><tr><th>disc</th><th>value</th><th>confidence</th><th>world mm (x, y, z)</th></tr>{rows}</table>" if rows else "")
    command = "" if item.error is not None else f"<div class='small'>open in FSLeyes:</div><div class='cmd'>{html.escape(fsleyes_command(item.image, item.labels))}</div>"
    anchor = f"<div class='small'>named from: {html.escape(ANCHOR_WORDS.get(item.anchor, item.anchor))}</div>" if item.anchor else ""
    return (f"<section class='card {kind}' id='img{index}'>{picture}<div><h2>{html.escape(Path(item.image).name)}</h2>"
            f"<div class='small path'>{html.escape(str(item.image))}</div><div>{_flag_badges(flags)}</div>{anchor}{table}{command}</div></section>")


def build_page(items: Sequence[QcImage], page: Path, title: str, details: str = "", low_confidence: float = LOW_CONFIDENCE) -> str:
    """The HTML text of the QC page that will live at ``page`` (pictures are linked relative to it)."""
    flagged = [(item, image_flags(item, low_confidence)) for item in items]
    flagged.sort(key=lambda pair: (_severity(pair[1]), str(pair[0].image)))
    n_flagged = sum(1 for _, flags in flagged if flags)
    summary_rows = "".join(
        f"<tr><td><a href='#img{i}'>{html.escape(Path(item.image).name)}</a></td><td>{len(item.discs)}</td>"
        f"<td>{_lowest_confidence(item)}</td><td>{_flag_badges(flags)}</td></tr>"
        for i, (item, flags) in enumerate(flagged))
    legend = (f"Flags: <b>failed</b>, <b>no disc</b>; <b>gap</b> (a disc missing between found ones); <b>order</b> (a disc not below "
              f"the one above it, or a step more than {SPACING_FACTOR:g}x or less than 1/{SPACING_FACTOR:g} of the local median distance per "
              f"level: a skipped or an extra disc); <b>count</b> (C2 and the sacrum both in view, with another number of discs between "
              f"them than anatomy has); <b>low confidence</b> (below {low_confidence:.2f}). Flagged images come first.")
    body = (f"<h1>{html.escape(title)}</h1><div class='meta'>{html.escape(details)}</div>"
            f"<p><b>{len(flagged)}</b> image(s), <b>{n_flagged}</b> flagged.</p><p class='meta'>{legend}</p>"
            f"<table><tr><th>image</th><th>discs</th><th>lowest confidence</th><th>flags</th></tr>{summary_rows}</table>"
            f"<div class='cards'>{''.join(_card(i, item, flags, page) for i, (item, flags) in enumerate(flagged))}</div>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>\n")


def write_page(items: Sequence[QcImage], page: Path, title: str, details: str = "", low_confidence: float = LOW_CONFIDENCE) -> Path:
    """Write the QC page atomically; returns its path."""
    return write_text(page, build_page(items, page, title, details, low_confidence))
