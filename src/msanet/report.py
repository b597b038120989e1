"""``msanet report RUN_DIR``: one self-contained HTML page (no external assets, works offline).

Reads what the other commands wrote and only formats it:
- ``RUN_DIR/config.yaml``, ``best.json`` (training config, calibrated threshold);
- ``RUN_DIR/curves.png`` and ``log.csv`` (learning curves);
- an evaluation folder (``summary.json`` + ``evaluation.csv`` from ``msanet evaluate``);
- a prediction folder (``*_qc.png`` from ``msanet predict``) for the best and worst cases.
Pictures are embedded as base64 PNG.
"""

from __future__ import annotations

import base64
import csv
import html
import io as _io
import json
from pathlib import Path

import numpy as np

from msanet import discs
from msanet.errors import InputNotFoundError
from msanet.evaluate import summary_markdown
from msanet.fileio import write_text


def _img_tag(png_bytes: bytes, alt: str, width: str = "100%") -> str:
    data = base64.b64encode(png_bytes).decode("ascii")
    return f'<img alt="{html.escape(alt)}" style="max-width:{width}" src="data:image/png;base64,{data}">'


def per_disc_errors(rows: list[dict]) -> dict[int, list[float]]:
    """{SCT value: [2D DTT in mm of each true-positive disc]} from evaluation.csv rows."""
    out: dict[int, list[float]] = {}
    for r in rows:
        if r["status"] == "tp" and r["dtt_2d_mm"]:
            out.setdefault(int(r["value"]), []).append(float(r["dtt_2d_mm"]))
    return dict(sorted(out.items()))


def per_image_error(rows: list[dict]) -> dict[tuple[str, str], float]:
    """{(subject, contrast): mean 2D DTT over its discs + 10 mm per FN/FP} (a ranking score)."""
    score: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        key = (r["subject"], r["contrast"])
        penalty = 10.0 if r["status"] in ("fn", "fp") else float(r["dtt_2d_mm"] or 0.0)
        score.setdefault(key, []).append(penalty)
    return {k: float(np.mean(v)) for k, v in score.items()}


def _bar_chart(errors: dict[int, list[float]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = list(errors)
    fig, ax = plt.subplots(figsize=(max(8.0, 0.4 * len(values)), 3.2), dpi=100)  # 24 discs stay readable
    means = [np.mean(errors[v]) for v in values]
    stds = [np.std(errors[v]) for v in values]
    ax.bar(range(len(values)), means, yerr=stds, capsize=3, color="#4c72b0")
    ax.set_xticks(range(len(values)), [discs.disc_name(v) for v in values], rotation=45, fontsize=8)
    ax.set_ylabel("DTT (mm, 2D)")
    ax.set_title("Per-disc error (true positives, mean +- std)")
    fig.tight_layout()
    buf = _io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def build_report(run_dir: str | Path, eval_dir: str | Path | None = None, pred_dir: str | Path | None = None, n_cases: int = 3) -> str:
    """The HTML text of the report."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputNotFoundError(f"{run_dir}: no such run folder")
    eval_dir = Path(eval_dir) if eval_dir else run_dir / "eval"
    pred_dir = Path(pred_dir) if pred_dir else run_dir / "pred"
    parts = [f"<h1>msanet report: {html.escape(run_dir.name)}</h1>"]
    meta_path = run_dir / "best.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        cfg = meta.get("model_config", {})
        parts.append("<h2>Model</h2><table>" + "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in [("best epoch", meta.get("epoch", "?") + 1 if isinstance(meta.get("epoch"), int) else "?"),
                         ("confidence threshold", meta.get("threshold")), *cfg.items()]) + "</table>")
    summary_path = eval_dir / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(), parse_constant=lambda c: float("nan"))
        restored = _restore_nan(summary)
        md = summary_markdown(restored)
        parts.append("<h2>Evaluation</h2>" + _markdown_tables_to_html(md))
    else:
        parts.append(f"<p>No evaluation found in {html.escape(str(eval_dir))} (run <code>msanet evaluate</code>).</p>")
    if (run_dir / "curves.png").exists():
        parts.append("<h2>Learning curves</h2>" + _img_tag((run_dir / "curves.png").read_bytes(), "learning curves"))
    rows: list[dict] = []
    if (eval_dir / "evaluation.csv").exists():
        with open(eval_dir / "evaluation.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    errors = per_disc_errors(rows)
    if errors:
        parts.append("<h2>Per-disc error</h2>" + _img_tag(_bar_chart(errors), "per-disc error"))
    scores = per_image_error(rows)
    if scores and pred_dir.is_dir():
        ranked = sorted(scores.items(), key=lambda kv: kv[1])
        qc_pngs = {p.name: p for p in pred_dir.rglob("*_qc.png")}
        for title, chosen in (("Best cases", ranked[:n_cases]), ("Worst cases", ranked[::-1][:n_cases])):
            cells = []
            for (subject, contrast), score in chosen:
                png = qc_pngs.get(f"{subject}_{contrast}_qc.png")
                if png is not None:
                    cells.append(f"<figure>{_img_tag(png.read_bytes(), subject, '320px')}<figcaption>{html.escape(subject)} {contrast}: "
                                 f"score {score:.2f}</figcaption></figure>")
            if cells:
                parts.append(f"<h2>{title}</h2><div class='cases'>{''.join(cells)}</div>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222} table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left} .cases{display:flex;flex-wrap:wrap;gap:12px}"
             "figure{margin:0} figcaption{font-size:12px}")
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>msanet report</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"


def _restore_nan(obj):
    if isinstance(obj, dict):
        return {k: _restore_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore_nan(v) for v in obj]
    return float("nan") if obj is None else obj


def _markdown_tables_to_html(md: str) -> str:
    out, table = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            if not set(line.replace("|", "").strip()) <= {"-"}:
                table.append([c.strip() for c in line.strip("|").split("|")])
            continue
        if table:
            head, *body = table
            out.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body) + "</table>")
            table = []
        if line.startswith("## "):
            out.append(f"<h3>{html.escape(line[3:])}</h3>")
        elif line.startswith("# "):
            continue
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    return "".join(out)


def write_report(run_dir: str | Path, output: str | Path | None = None, **kwargs) -> Path:
    output = Path(output) if output else Path(run_dir) / "report.html"
    write_text(output, build_report(run_dir, **kwargs))
    return output


