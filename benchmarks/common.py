"""Shared helpers of the benchmark scripts: machine description, commit, result header, msanet runs, files."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from msanet.fileio import write_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return out + (" (+ uncommitted changes)" if dirty else "")


def header(title: str, command: str) -> list[str]:
    return [f"# {title}", "", f"- command: `{command}`", f"- commit: {commit()}", f"- machine: {machine()}",
            f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}", ""]


def num(x: str | float | None, pct: bool = False) -> str:
    """A figure for a table: 2 decimals (or a percentage); 'n/a' for missing or NaN (CSV strings accepted as they are)."""
    if x in (None, "", "None", "nan"):
        return "n/a"
    x = float(x)
    if math.isnan(x):
        return "n/a"
    return f"{100 * x:.1f} %" if pct else f"{x:.2f}"


def msanet(*args: str) -> None:
    """Run one ``msanet`` command (this interpreter's package), printing it first; a failure stops the script."""
    cmd = [sys.executable, "-m", "msanet.cli", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def small_png(src: Path, dst: Path, scale: float = 0.75) -> Path:
    """A smaller copy of a QC picture for the docs, written atomically: resized by ``scale`` and stored with a palette
    of 200 grey levels plus shades of the QC marker colours (so predictions and ground truth keep their colours)."""
    from PIL import Image, ImageColor

    from msanet.fileio import atomic_path
    from msanet.qc import REFERENCE_COLOUR, REGION_COLOURS

    greys = [(round(i * 255 / 199),) * 3 for i in range(200)]  # + 4 colours x 10 shades = 240 <= 256 palette entries
    shades = [tuple(round(c * f + g * (1 - f)) for c in ImageColor.getrgb(colour))
              for colour in (*REGION_COLOURS.values(), REFERENCE_COLOUR) for f in (1.0, 0.8, 0.6, 0.45, 0.3) for g in (0, 128)]
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for rgb in greys + shades for v in rgb])
    with Image.open(src) as im:
        rgb = im.convert("RGB")
    rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS)
    with atomic_path(dst) as tmp:
        rgb.quantize(palette=palette, dither=Image.Dither.NONE).save(tmp, format="PNG", optimize=True)
    return dst


def write_csv(path: Path, fields: Iterable[str], rows: Iterable[dict]) -> None:
    """``rows`` (dicts keyed by ``fields``) as a CSV file with a header, written atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, list(fields))
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())
