"""Which landmark the disc names are tied to: C2 (top of the column) or the sacrum (bottom), and whether the
disc count between the two agrees with anatomy.

The decoder (``msanet.decode``) names the discs from the model's per-disc channels, in anatomical order
over the whole scan. A scan shows C2 (cervical and whole-spine scans) or the sacrum (lumbar scans) or
both or neither; the names of the discs are only as trustworthy as their link to one of these:

- ``"C2"``: a cervical disc (SCT value <= 3: C1-C2 or C2-C3) is among the detections; the names count down
  from it. It is preferred when both are present (the usual convention, and the one of SCT).
- ``"sacrum"``: L5-S1 (value 25) is detected and no cervical disc is; the names count up from the
  sacrum (a lumbar-only scan).
- ``"none"``: neither; the names rest on the model's per-disc channels alone (e.g. a thoracic-only scan).

With both present, the disc positions found between them (peaks of any channel, whatever their names,
``decode.disc_positions``) are counted: anatomy expects ``25 - v - 1`` discs between the cervical anchor
``v`` and L5-S1 (21 between C2-C3 and L5-S1). Another count (a transitional lumbosacral vertebra, or a missed
or extra disc) is flagged: counting down from C2 and up from the sacrum then disagree, and the names
(given from C2) may be off by one at the lumbar end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from msanet import discs
from msanet.decode import ANCHORS, CERVICAL_ANCHOR_MAX_VALUE, SACRUM_VALUE, Detection, naming_anchor

__all__ = ["ANCHORS", "AnchorCheck", "Anchoring", "anchor_of"]  # ANCHORS and the rule itself: decode.naming_anchor


@dataclass(frozen=True)
class AnchorCheck:
    """Both anchors present: disc positions found strictly between them vs the number anatomy expects."""

    upper: int  # SCT value of the cervical anchor
    lower: int  # SCT value of the sacral anchor (25)
    expected: int
    found: int

    @property
    def ok(self) -> bool:
        return self.found == self.expected

    def text(self) -> str:
        """One line for people, e.g. 'C2-C3 to L5-S1: 20 discs between, anatomy expects 21'."""
        return (f"{discs.disc_name(self.upper)} to {discs.disc_name(self.lower)}: {self.found} discs between, "
                f"anatomy expects {self.expected}")

    def to_dict(self) -> dict:
        return {"from": discs.disc_name(self.upper), "to": discs.disc_name(self.lower), "expected": self.expected,
                "found": self.found, "ok": self.ok}


@dataclass(frozen=True)
class Anchoring:
    """``anchor`` (one of ``ANCHORS``) and, when both anchors are present, the count between them."""

    anchor: str
    check: AnchorCheck | None = None


def anchor_of(detections: Sequence[Detection], position_rows: Sequence[float] = (), tolerance_px: float = 4.0) -> Anchoring:
    """The anchor of decoded ``detections`` (see the module docstring).

    ``position_rows``: rows (input pixels) of every disc position found, whatever its name; positions
    within ``tolerance_px`` rows of an anchor's row are that anchor, not a disc between.
    Raises ValueError for a negative or non-finite tolerance.
    """
    if not (isinstance(tolerance_px, (int, float)) and 0 <= tolerance_px < float("inf")):
        raise ValueError(f"tolerance_px={tolerance_px!r} must be a finite number >= 0")
    anchor = naming_anchor([d.value for d in detections])
    cervical = [d for d in detections if d.value <= CERVICAL_ANCHOR_MAX_VALUE]
    sacral = [d for d in detections if d.value == SACRUM_VALUE]
    if anchor != "C2" or not sacral:
        return Anchoring(anchor)
    upper = max(cervical, key=lambda d: d.value)  # C2-C3 when found, else C1-C2
    lower = sacral[0]
    found = sum(1 for r in position_rows if upper.row + tolerance_px < r < lower.row - tolerance_px)
    return Anchoring("C2", AnchorCheck(upper.value, lower.value, lower.value - upper.value - 1, found))
