"""Training curves as inline SVG geometry (the template draws it; the page loads nothing)."""

from __future__ import annotations

import math

WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 640, 260, 64, 16, 16, 40
COLOURS = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0f766e"]
# One colour per series in every chart: training blue, validation orange.
SERIES_COLOURS = {"loss": "#1f5fbf", "accuracy": "#1f5fbf", "acc": "#1f5fbf",
                  "val_loss": "#c2410c", "val_accuracy": "#c2410c", "val_acc": "#c2410c"}
CHAR_W, TEXT_H = 6.6, 12  # the page's 11px sans-serif: about 6.6 px a character, 12 px a line


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


MAX_POINTS = 20_000  # epochs drawn across all fits: a course's longest training is a few thousand
SERIES_ORDER = ("loss", "accuracy", "acc", "val_loss", "val_accuracy", "val_acc")  # legends always in this order


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
        lines.append({"name": name, "colour": SERIES_COLOURS.get(name, COLOURS[(idx + 2) % len(COLOURS)]),
                      "segments": [" ".join(s) for s in segments if len(s) > 1],
                      "dots": [tuple(s[0].split(",")) for s in segments if len(s) == 1],
                      "last": vals[-1]})
    yticks = []
    for t in _ticks(lo, hi):
        value = 10 ** t if log_y else t
        yticks.append({"y": round(PAD_T + plot_h * (1 - (t - lo) / (hi - lo)), 1), "label": f"{value:.3g}"})
    step = _round_step(n)
    epochs = sorted({1, *range(step, n + 1, step)})  # epoch numbers, 1-based: 1, then round multiples
    xticks = [{"x": round(px(e - 1), 1), "label": str(e)} for e in epochs]
    # marker labels go in the half of the plot away from where the curves end (the top for a falling
    # loss, the bottom for a rising accuracy), a row further for each label or threshold line in the way
    ends = [float(seg.split()[-1].split(",")[1]) for line in lines for seg in line["segments"]]
    at_top = not ends or sum(ends) / len(ends) > PAD_T + plot_h / 2
    line_ys = [py(v) for v, _ in hlines or [] if lo <= f(v) <= hi]
    marker_boxes, placed_markers = [], []
    for e, label in markers or []:
        if 0 <= e < n:
            x = round(px(e), 1)
            right = x - 4 - CHAR_W * len(label) < PAD_L  # no room on the left of the line: write on its right
            x0, x1 = (x + 4, x + 4 + CHAR_W * len(label)) if right else (x - 4 - CHAR_W * len(label), x - 4)
            row = 0
            while True:
                ty = PAD_T + 12 + row * TEXT_H if at_top else HEIGHT - PAD_B - 4 - row * TEXT_H
                box = (x0, ty - TEXT_H + 2, x1, ty + 2)
                if row > 8 or not (any(boxes_overlap(box, b) for b in marker_boxes)
                                   or any(box[1] - 2 <= y <= box[3] + 2 for y in line_ys)):
                    break
                row += 1
            marker_boxes.append(box)
            placed_markers.append({"x": x, "label": label, "tx": round(x0, 1), "ty": round(ty, 1)})
    placed_hlines = []
    for v, label in hlines or []:
        if lo <= f(v) <= hi:
            placed_hlines.append(_place_hline(round(py(v), 1), label, placed_markers, lines))
    return {
        "title": title, "width": WIDTH, "height": HEIGHT, "lines": lines, "yticks": yticks, "xticks": xticks,
        "plot": {"x0": PAD_L, "x1": WIDTH - PAD_R, "y0": PAD_T, "y1": HEIGHT - PAD_B},
        "log_y": log_y, "epochs": n,
        "markers": placed_markers,
        "hlines": placed_hlines,
    }


def _round_step(n: int, most: int = 8) -> int:
    """Epochs between x ticks: 1, 2, 5, 10, 20, 25, 50, 100, ... so that at most ``most`` ticks show."""
    for base in (1, 10, 100, 1000, 10000):
        for m in (1, 2, 5) if base == 1 else (1, 2, 2.5, 5):
            step = int(base * m)
            if n / step <= most:
                return step
    return max(1, n // most)


def boxes_overlap(a: tuple, b: tuple) -> bool:
    """Two (x0, y0, x1, y1) text boxes overlap."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_boxes(chart: dict) -> list[tuple]:
    """The boxes of a chart's marker and threshold labels, as drawn (for tests and placement)."""
    out = [(m["tx"], m["ty"] - TEXT_H + 2, m["tx"] + CHAR_W * len(m["label"]), m["ty"] + 2) for m in chart["markers"]]
    out += [(h["tx"], h["ty"] - TEXT_H + 2, h["tx"] + CHAR_W * len(h["label"]), h["ty"] + 2) for h in chart["hlines"]]
    return out


def _place_hline(y: float, label: str, markers: list, lines: list) -> dict:
    """A threshold's label: above the line at the right end, unless a marker label or the curves' ends
    are there; then at the left end; then below the line."""
    width = CHAR_W * len(label)
    taken = [(m["tx"], m["ty"] - TEXT_H + 2, m["tx"] + CHAR_W * len(m["label"]), m["ty"] + 2) for m in markers]
    taken += [(x - 2, yy - 2, x + 2, yy + 2) for x, yy in _curve_points(lines)]
    x1, x0 = WIDTH - PAD_R - 4, PAD_L + 4
    for tx, ty in ((x1 - width, y - 4), (x0, y - 4), (x1 - width, y + TEXT_H), (x0, y + TEXT_H)):
        box = (tx, ty - TEXT_H + 2, tx + width, ty + 2)
        if not any(boxes_overlap(box, t) for t in taken):
            return {"y": y, "label": label, "tx": round(tx, 1), "ty": round(ty, 1)}
    return {"y": y, "label": label, "tx": round(x0, 1), "ty": round(y + TEXT_H, 1)}


def _curve_points(lines: list, every: float = 4.0) -> list[tuple]:
    """Points along every drawn curve, a few pixels apart (what a label must not sit on)."""
    out = []
    for line in lines:
        for seg in line["segments"]:
            pts = [tuple(map(float, p.split(","))) for p in seg.split()]
            for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
                steps = max(1, int(max(abs(xb - xa), abs(yb - ya)) / every))
                out += [(xa + (xb - xa) * k / steps, ya + (yb - ya) * k / steps) for k in range(steps + 1)]
    return out


CHARTED = ("loss", "val_loss", "accuracy", "acc", "val_accuracy", "val_acc")
MAX_MARKERS = 40  # labels are placed clear of each other (quadratic in their number); more say nothing


def training_charts(fits: list[dict], thresholds: dict | None = None, marks: list | None = None) -> list[dict]:
    """One loss chart and, when accuracy was logged, one accuracy chart, across all fit calls.
    ``marks``: [{"fit": index, "epoch": 0-based, "label": text}] (the diagnoses' markers)."""
    history: dict[str, list] = {}
    markers = []
    offset = 0
    for f in fits:
        if offset >= MAX_POINTS:  # a trace claiming more epochs than any chart can show (forged, or absurd)
            break
        for m in marks or []:
            if m.get("fit") == f.get("index") and isinstance(m.get("epoch"), int) and len(markers) < MAX_MARKERS:
                markers.append((offset + m["epoch"], m.get("label", "")))
        h = f.get("history") or {}
        # the epochs the history holds values for (a claimed epoch count pads nothing), within the bound
        n = min(f.get("epochs_run") or 0, max((len(v) for v in h.values()), default=0), MAX_POINTS - offset)
        for key in CHARTED:  # only what a chart draws: a forged trace's thousands of keys cost nothing
            values = h.get(key)
            if key in history or isinstance(values, list):
                values = list(values or [])[:n]
                history.setdefault(key, [None] * offset).extend(values + [None] * (n - len(values)))
        stop = f.get("stopped_by")
        if stop and n and len(markers) < MAX_MARKERS:
            who = "the time limit" if stop.get("grader") or not stop.get("class") else stop.get("class")
            markers.append((offset + n - 1, f"stopped by {who}"))
        offset += n
    charts = []
    history = {k: history[k] for k in sorted(history, key=lambda k: (SERIES_ORDER.index(k) if k in SERIES_ORDER
                                                                      else len(SERIES_ORDER), k))}
    loss = {k: v for k, v in history.items() if k in ("loss", "val_loss")}
    if loss:
        charts.append(line_chart(loss, title="Loss per epoch", log_y=True, markers=markers))
    acc = {k: v for k, v in history.items() if k in ("accuracy", "acc", "val_accuracy", "val_acc")}
    if acc:
        alias = {"accuracy": "acc", "acc": "accuracy", "val_accuracy": "val_acc", "val_acc": "val_accuracy"}
        lines = [(v, f"{k} {v:g}") for k, v in (thresholds or {}).items()  # a line only beside its own curve
                 if k in alias and (k in acc or alias[k] in acc)]
        charts.append(line_chart(acc, title="Accuracy per epoch", markers=markers, hlines=lines))
    return [c for c in charts if c]
