"""Tables of results, one renderer: plain text for the terminal, markdown for the documents.

Rows are ``{label: metrics}`` with the keys of :func:`posepred.metrics.summary` (VIM in cm,
ADE/FDE in metres) and :func:`posepred.metrics.bone_drift` (%); a missing value prints as ``-``.
"""

from __future__ import annotations

COLUMNS = ("vim_100", "vim_240", "vim_500", "vim_640", "vim_900", "vim_mean",
           "ade_rms", "fde_rms", "ade_mpjpe", "fde_mpjpe")
VIM_COLUMNS = COLUMNS[:6]
DRIFT_COLUMNS = ("bone_drift_mean", "bone_drift_max", "bone_drift_over_10", "edge_drift_over_10")
HEADERS = {"vim_100": "100ms", "vim_240": "240ms", "vim_500": "500ms", "vim_640": "640ms", "vim_900": "900ms",
           "vim_mean": "mean14", "ade_rms": "ADE rms", "fde_rms": "FDE rms", "ade_mpjpe": "ADE mpjpe",
           "fde_mpjpe": "FDE mpjpe", "samples_better_than_damped": "better than damped",
           "bone_drift_mean": "bone drift mean %", "bone_drift_max": "max %",
           "bone_drift_over_10": "frames >10% %", "edge_drift_over_10": "all edges >10% %"}
NOTES = {
    "vim": "VIM in cm",
    "ade": "ADE/FDE in metres: rms = root-mean-square over joints, mpjpe = mean per-joint error",
    "bone": "bone drift: change of the 9 rigid bone lengths against the last observed frame, "
            "mean and max over person-frames; frames >10%: share of person-frames with any rigid bone "
            "off by more than 10%; all edges: the same over all 14 skeleton edges",
}


COUNTS = ("samples_better_than_damped",)  # metrics that count things: printed as whole numbers


def format_value(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if key in COUNTS:
        return f"{value:.0f}"
    return f"{value:.4f}" if key.startswith(("ade", "fde")) else f"{value:.2f}"


def format_table(rows: dict[str, dict[str, float]], markdown: bool = False, columns=COLUMNS,
                 bold: tuple[str, ...] = ()) -> str:
    """A table of :func:`summary` (and :func:`bone_drift`) rows ``{label: metrics}``: VIM in cm,
    ADE/FDE in metres, drift in %; missing values as '-'; a units note below. Rows named in
    ``bold`` are bold (markdown)."""
    headers = [HEADERS.get(k, k) for k in columns]
    names = list(rows)
    if markdown:
        def line(name):
            cells = [name] + [format_value(k, rows[name].get(k)) for k in columns]
            return "| " + " | ".join(f"**{c}**" if name in bold and c != "-" else c for c in cells) + " |"
        lines = ["| predictor | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
        lines += [line(n) for n in names]
    else:
        width = max([9] + [len(n) for n in names])
        cell = max([9] + [len(h) for h in headers])
        lines = [f"{'predictor':<{width}}  " + "  ".join(f"{h:>{cell}}" for h in headers)]
        lines += [f"{n:<{width}}  " + "  ".join(f"{format_value(k, rows[n].get(k)):>{cell}}" for k in columns)
                  for n in names]
    kinds = [kind for kind in NOTES if any(k.startswith(kind) or (kind == "bone" and "drift" in k) for k in columns)]
    note = "(" + "; ".join(NOTES[kind] for kind in kinds) + ")"
    return "\n".join(lines) + ("\n\n" if markdown else "\n") + note
