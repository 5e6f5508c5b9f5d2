"""Chart geometry: labels never overlap each other, every threshold a check uses is drawn, one colour
per series across charts, round tick values."""

import itertools

import pytest

from grader.chart import WIDTH, _curve_points, boxes_overlap, label_boxes, training_charts


def fit(n, stop=True, val=True, top=0.93):
    history = {"loss": [1 / (i + 1) for i in range(n)], "accuracy": [0.5 + (top - 0.5) * i / max(n - 1, 1) for i in range(n)]}
    if val:
        history.update(val_loss=[1.2 / (i + 1) for i in range(n)], val_accuracy=[0.45 + 0.4 * i / max(n - 1, 1) for i in range(n)])
    return {"index": 0, "epochs_run": n, "history": history, "stopped_by": {"class": "myCallback"} if stop else None}


@pytest.mark.parametrize("n,top,thresholds", [
    (63, 0.9, {"accuracy": 0.9}), (6, 0.93, {"accuracy": 0.9}), (2, 0.95, {"accuracy": 0.9}),
    (15, 0.85, {"val_accuracy": 0.8}), (125, 0.99, {"accuracy": 0.99, "val_accuracy": 0.8}), (1, 0.9, {"accuracy": 0.9}),
])
def test_labels_never_overlap_and_stay_on_the_chart(n, top, thresholds):
    marks = [{"fit": 0, "epoch": n // 2, "label": "overfitting from here"}] if n > 3 else []
    for chart in training_charts([fit(n, top=top)], thresholds, marks):
        boxes = label_boxes(chart)
        assert not any(boxes_overlap(a, b) for a, b in itertools.combinations(boxes, 2)), chart["title"]
        assert all(0 <= b[0] and b[2] <= WIDTH and b[1] >= 0 for b in boxes)
        for marker in chart["markers"]:  # a marker label crosses no threshold line
            assert not any(marker["ty"] - 12 <= h["y"] <= marker["ty"] + 4 for h in chart["hlines"])
        hline_boxes = label_boxes(dict(chart, markers=[]))  # threshold labels sit on no curve
        assert not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in hline_boxes for x, y in _curve_points(chart["lines"]))


def test_every_threshold_is_drawn_and_series_keep_their_colour():
    charts = training_charts([fit(15)], {"accuracy": 0.9, "val_accuracy": 0.8})
    loss, accuracy = charts
    assert [h["label"] for h in accuracy["hlines"]] == ["accuracy 0.9", "val_accuracy 0.8"]
    colours = {line["name"]: line["colour"] for chart in charts for line in chart["lines"]}
    assert colours["loss"] == colours["accuracy"] != colours["val_loss"] == colours["val_accuracy"]
    # a threshold line is drawn beside its own curve only: no validation curve, no validation line
    no_validation = fit(15)
    no_validation["history"] = {k: v for k, v in no_validation["history"].items() if not k.startswith("val_")}
    _, accuracy = training_charts([no_validation], {"accuracy": 0.9, "val_accuracy": 0.8})
    assert [h["label"] for h in accuracy["hlines"]] == ["accuracy 0.9"]


@pytest.mark.parametrize("n,labels", [(63, ["1", "10", "20", "30", "40", "50", "60"]), (8, [str(i) for i in range(1, 9)]),
                                      (125, ["1", "20", "40", "60", "80", "100", "120"]),
                                      (500, ["1", "100", "200", "300", "400", "500"])])
def test_x_ticks_fall_on_round_epochs(n, labels):
    assert [t["label"] for t in training_charts([fit(n, val=False)])[0]["xticks"]] == labels
