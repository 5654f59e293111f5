"""Server-side SVG charts (no JavaScript, no CDN): score over time with labelled windows,
predicted vs actual, a confusion matrix. Text is escaped; sizes scale with the viewBox."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

W, H = 800, 300
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 24, 36
MAX_POINTS = 2000  # points per line; longer series are reduced to min/max pairs per bucket


def _frame(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'class="pl-chart" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>',
        f'<text x="{PAD_L}" y="16" font-size="13" font-family="sans-serif">{escape(title)}</text>',
    ]


def _scale(lo: float, hi: float, a: float, b: float) -> tuple[float, float]:
    span = hi - lo if hi > lo else 1.0
    return (b - a) / span, lo


def _reduce(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values, at most MAX_POINTS, keeping each bucket's extremes (spikes stay)."""
    n = len(values)
    if n <= MAX_POINTS:
        return np.arange(n), values
    buckets = np.array_split(np.arange(n), MAX_POINTS // 2)
    idx: list[int] = []
    for bucket in buckets:
        part = values[bucket]
        lo, hi = bucket[int(np.nanargmin(part))], bucket[int(np.nanargmax(part))]
        idx.extend(sorted((int(lo), int(hi))))
    index = np.array(idx)
    return index, values[index]


def _axes(parts: list[str], lo: float, hi: float, x_label: str, y_label: str) -> None:
    parts.append(
        f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" stroke="#888"/>'
    )
    parts.append(f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{H - PAD_B}" stroke="#888"/>')
    for value, y in ((hi, PAD_T + 4), (lo, H - PAD_B)):
        parts.append(
            f'<text x="{PAD_L - 4}" y="{y}" font-size="10" text-anchor="end" '
            f'font-family="sans-serif">{value:.3g}</text>'
        )
    parts.append(
        f'<text x="{(W + PAD_L) / 2}" y="{H - 8}" font-size="11" text-anchor="middle" '
        f'font-family="sans-serif">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="12" y="{(H) / 2}" font-size="11" font-family="sans-serif" '
        f'transform="rotate(-90 12 {H / 2})" text-anchor="middle">{escape(y_label)}</text>'
    )


def score_chart(
    score: Sequence[float] | np.ndarray,
    *,
    threshold: float,
    labels: Sequence[int] | np.ndarray | None = None,
    train_rows: int = 0,
    title: str = "anomaly score",
) -> str:
    """The score line, the threshold, shaded labelled-anomaly windows and the training window."""
    values = np.asarray(score, dtype=np.float64)
    n = max(len(values), 1)
    finite = values[np.isfinite(values)]
    hi = float(max(np.quantile(finite, 0.995) if len(finite) else 1.0, threshold) * 1.1)
    lo = 0.0
    sx = (W - PAD_L - PAD_R) / n
    sy, _ = _scale(lo, hi, 0, H - PAD_T - PAD_B)
    parts = _frame(title)

    def x(i: float) -> float:
        return PAD_L + i * sx

    def y(v: float) -> float:
        return H - PAD_B - (min(max(v, lo), hi) - lo) * sy

    if train_rows:
        parts.append(
            f'<rect x="{x(0):.1f}" y="{PAD_T}" width="{train_rows * sx:.1f}" '
            f'height="{H - PAD_T - PAD_B}" fill="#e8f0fe"><title>training window</title></rect>'
        )
    if labels is not None:
        marks = np.asarray(labels, dtype=int)
        start = None
        for i, flag in enumerate([*marks.tolist(), 0]):
            if flag and start is None:
                start = i
            elif not flag and start is not None:
                parts.append(
                    f'<rect x="{x(start):.1f}" y="{PAD_T}" width="{(i - start) * sx:.1f}" '
                    f'height="{H - PAD_T - PAD_B}" fill="#fde2e1">'
                    "<title>labelled anomaly</title></rect>"
                )
                start = None
    index, shown = _reduce(values)
    points = " ".join(
        f"{x(float(i)):.1f},{y(float(v)):.1f}"
        for i, v in zip(index, shown, strict=True)
        if np.isfinite(v)
    )
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1a56db" stroke-width="1.2"/>')
    parts.append(
        f'<line x1="{PAD_L}" y1="{y(threshold):.1f}" x2="{W - PAD_R}" y2="{y(threshold):.1f}" '
        'stroke="#c81e1e" stroke-dasharray="6 4"><title>threshold</title></line>'
    )
    _axes(parts, lo, hi, "sample", "score")
    parts.append("</svg>")
    return "\n".join(parts)


def scatter_chart(
    actual: Sequence[float] | np.ndarray,
    predicted: Sequence[float] | np.ndarray,
    *,
    title: str,
    label: str = "value",
) -> str:
    """Predicted against actual with the y = x diagonal."""
    a = np.asarray(actual, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    lo = float(min(a.min(initial=0.0), p.min(initial=0.0)))
    hi = float(max(a.max(initial=1.0), p.max(initial=1.0)))
    size = H - PAD_T - PAD_B
    s, _ = _scale(lo, hi, 0, size)
    parts = _frame(title)

    def px(v: float) -> float:
        return PAD_L + (v - lo) * s

    def py(v: float) -> float:
        return H - PAD_B - (v - lo) * s

    parts.append(
        f'<line x1="{px(lo):.1f}" y1="{py(lo):.1f}" x2="{px(hi):.1f}" y2="{py(hi):.1f}" '
        'stroke="#999" stroke-dasharray="4 4"/>'
    )
    step = max(1, len(a) // MAX_POINTS)
    for va, vp in zip(a[::step], p[::step], strict=True):
        parts.append(
            f'<circle cx="{px(va):.1f}" cy="{py(vp):.1f}" r="2.2" fill="#1a56db" '
            'fill-opacity="0.6"/>'
        )
    parts.append(
        f'<text x="{px(hi) + 8:.1f}" y="{py(hi) + 12:.1f}" font-size="10" '
        'font-family="sans-serif">y = x</text>'
    )
    _axes(parts, lo, hi, f"actual {label}", f"predicted {label}")
    parts.append("</svg>")
    return "\n".join(parts)


def confusion_chart(matrix: Sequence[Sequence[int]], classes: Sequence[str], *, title: str) -> str:
    """Rows: actual class; columns: predicted class; darker = more."""
    m = np.asarray(matrix, dtype=np.int64)
    k = max(len(classes), 1)
    cell = min((W - 2 * PAD_L) / k, (H - PAD_T - PAD_B - 20) / k)
    peak = max(int(m.max(initial=0)), 1)
    parts = _frame(title)
    x0, y0 = PAD_L + 80, PAD_T + 20
    for i in range(k):
        parts.append(
            f'<text x="{x0 - 6}" y="{y0 + (i + 0.55) * cell:.1f}" font-size="11" '
            f'text-anchor="end" font-family="sans-serif">{escape(str(classes[i]))[:18]}</text>'
        )
        parts.append(
            f'<text x="{x0 + (i + 0.5) * cell:.1f}" y="{y0 - 4}" font-size="11" '
            f'text-anchor="middle" font-family="sans-serif">{escape(str(classes[i]))[:12]}</text>'
        )
        for j in range(k):
            count = int(m[i, j])
            shade = 0.08 + 0.85 * count / peak
            ink = "#fff" if shade > 0.5 else "#111"
            parts.append(
                f'<rect x="{x0 + j * cell:.1f}" y="{y0 + i * cell:.1f}" width="{cell:.1f}" '
                f'height="{cell:.1f}" fill="#1a56db" fill-opacity="{shade:.2f}" stroke="#fff"/>'
            )
            parts.append(
                f'<text x="{x0 + (j + 0.5) * cell:.1f}" y="{y0 + (i + 0.55) * cell:.1f}" '
                f'font-size="12" text-anchor="middle" fill="{ink}" '
                f'font-family="sans-serif">{count}</text>'
            )
    parts.append(
        f'<text x="{x0 - 70}" y="{y0 - 4}" font-size="10" font-family="sans-serif">'
        "actual \\ predicted</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
