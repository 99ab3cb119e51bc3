"""Tables of results, one renderer: plain text for the terminal, markdown for the documents.

Rows are ``{label: metrics}`` with the keys of :func:`posepred.metrics.summary` (VIM in cm,
ADE/FDE in metres) and :func:`posepred.metrics.bone_drift` (%); a missing value prints as ``-``.
"""

from __future__ import annotations

import textwrap

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


LABEL_WIDTH = 44  # characters; a longer label wraps, so a table fits a notebook 1000 px wide
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
    else:  # each column as wide as its header or widest value; a long label wraps, its numbers on line 1
        values = {n: [format_value(k, rows[n].get(k)) for k in columns] for n in names}
        cells = [max([len(h)] + [len(values[n][i]) for n in names]) for i, h in enumerate(headers)]
        labels = {n: textwrap.wrap(n, LABEL_WIDTH, subsequent_indent="  ") or [""] for n in names}
        width = max([len("predictor")] + [len(line) for n in names for line in labels[n]])
        lines = [f"{'predictor':<{width}}  " + "  ".join(f"{h:>{c}}" for h, c in zip(headers, cells))]
        for n in names:
            lines.append(f"{labels[n][0]:<{width}}  " + "  ".join(f"{v:>{c}}" for v, c in zip(values[n], cells)))
            lines += labels[n][1:]
    kinds = [kind for kind in NOTES if any(k.startswith(kind) or (kind == "bone" and "drift" in k) for k in columns)]
    note = "(" + "; ".join(NOTES[kind] for kind in kinds) + ")"
    return "\n".join(lines) + ("\n\n" if markdown else "\n") + note
