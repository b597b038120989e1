import re

from msanet.cli import main
from msanet.evaluate import run_evaluate


def test_report_is_one_offline_html_page(trained_tiny, tmp_path):
    run = trained_tiny["run"]
    pred, ev = tmp_path / "pred", tmp_path / "eval"
    assert main(["predict", str(trained_tiny["bids"]), "-o", str(pred), "--model", str(run / "best.safetensors"), "--quiet"]) == 0
    run_evaluate(pred, trained_tiny["bids"], out_dir=ev)
    out = tmp_path / "r.html"
    assert main(["report", str(run), "-o", str(out), "--eval", str(ev), "--pred", str(pred)]) == 0
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<h2>Evaluation</h2>" in text and "<h2>Learning curves</h2>" in text and "Best cases" in text and "Worst cases" in text
    assert text.count("data:image/png;base64,") >= 4  # curves + per-disc chart + best/worst QC pictures
    assert not re.search(r"(src|href)=[\"']https?://", text)  # no external assets


def test_report_without_evaluation_still_renders(trained_tiny, tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(trained_tiny["run"]), "-o", str(out), "--eval", str(tmp_path / "none")]) == 0
    assert "No evaluation found" in out.read_text()


def test_missing_run_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 3
    assert "no such run folder" in capsys.readouterr().err


def test_per_disc_chart_takes_24_discs():
    from msanet.report import _bar_chart

    png = _bar_chart({v: [1.0, 2.0] for v in range(2, 26)})
    assert png[:4] == b"\x89PNG"
