"""Training curves as inline SVG geometry (the template draws it; the page loads nothing)."""

from __future__ import annotations

import math

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 640, 260, 64, 16, 16, 40
COLOURS = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0f766e"]


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step) + 1)]


LARGEST = 1e12


def _drawable(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and abs(x) <= LARGEST


def line_chart(series: dict[str, list], *, title: str, log_y: bool = False, markers: list | None = None,
               hlines: list | None = None) -> dict | None:
    """Geometry for one chart: polylines per series (None values break the line), axes, ticks.

    ``markers``: [(epoch, label)] vertical lines; ``hlines``: [(value, label)] horizontal lines.
    """
    # a value that is not a finite number of sensible size (NaN, inf, 1e308) breaks the line there
    series = {k: [x if _drawable(x) else None for x in v] for k, v in series.items()}
    series = {k: v for k, v in series.items() if any(x is not None for x in v)}
    if not series:
        return None
    n = max(len(v) for v in series.values())
    values = [x for v in series.values() for x in v if x is not None]
    values += [v for v, _ in hlines or []]
    if log_y:
        values = [x for x in values if x > 0]
        log_y = bool(values) and max(values) / min(values) > 100
    f = (lambda y: math.log10(y)) if log_y else (lambda y: y)
    ys = [f(x) for x in values if not log_y or x > 0]
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def px(i):
        return PAD_L + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(y):
        return PAD_T + plot_h * (1 - (f(y) - lo) / (hi - lo))

    lines = []
    for idx, (name, vals) in enumerate(series.items()):
        segments, current = [], []
        for i, v in enumerate(vals):
            if v is None or (log_y and v <= 0):
                if current:
                    segments.append(current)
                current = []
                continue
            current.append(f"{px(i):.1f},{py(v):.1f}")
        if current:
            segments.append(current)
        lines.append({"name": name, "colour": COLOURS[idx % len(COLOURS)],
                      "segments": [" ".join(s) for s in segments if len(s) > 1],
                      "dots": [tuple(s[0].split(",")) for s in segments if len(s) == 1],
                      "last": vals[-1]})
    yticks = []
    for t in _ticks(lo, hi):
        value = 10 ** t if log_y else t
        yticks.append({"y": round(PAD_T + plot_h * (1 - (t - lo) / (hi - lo)), 1), "label": f"{value:.3g}"})
    step = max(1, n // 8)
    ticks = [i for i in range(0, n, step) if n - 1 - i >= step / 2] + [n - 1]
    xticks = [{"x": round(px(i), 1), "label": str(i + 1)} for i in sorted(set(ticks))]
    return {
        "title": title, "width": WIDTH, "height": HEIGHT, "lines": lines, "yticks": yticks, "xticks": xticks,
        "plot": {"x0": PAD_L, "x1": WIDTH - PAD_R, "y0": PAD_T, "y1": HEIGHT - PAD_B},
        "log_y": log_y, "epochs": n,
        "markers": [{"x": round(px(e), 1), "label": label} for e, label in markers or [] if 0 <= e < n],
        "hlines": [{"y": round(py(v), 1), "label": label} for v, label in hlines or [] if lo <= f(v) <= hi],
    }


def training_charts(fits: list[dict], thresholds: dict | None = None, marks: list | None = None) -> list[dict]:
    """One loss chart and, when accuracy was logged, one accuracy chart, across all fit calls.
    ``marks``: [{"fit": index, "epoch": 0-based, "label": text}] (the diagnoses' markers)."""
    history: dict[str, list] = {}
    markers = []
    offset = 0
    for f in fits:
        for m in marks or []:
            if m.get("fit") == f.get("index") and isinstance(m.get("epoch"), int):
                markers.append((offset + m["epoch"], m.get("label", "")))
        h = f.get("history") or {}
        n = f.get("epochs_run") or 0
        for key in set(history) | set(h):
            values = list(h.get(key) or [])[:n]
            history.setdefault(key, [None] * offset).extend(values + [None] * (n - len(values)))
        stop = f.get("stopped_by")
        if stop and n:
            markers.append((offset + n - 1, f"stopped by {stop.get('class')}"))
        offset += n
    charts = []
    loss = {k: v for k, v in history.items() if k in ("loss", "val_loss")}
    if loss:
        charts.append(line_chart(loss, title="Loss per epoch", log_y=True, markers=markers))
    acc = {k: v for k, v in history.items() if k in ("accuracy", "acc", "val_accuracy", "val_acc")}
    if acc:
        lines = [(v, f"{k} {v:g}") for k, v in (thresholds or {}).items() if k in ("accuracy", "acc")]
        charts.append(line_chart(acc, title="Accuracy per epoch", markers=markers, hlines=lines))
    return [c for c in charts if c]
