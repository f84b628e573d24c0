"""A server-rendered SVG bar chart of a connection's last 24 hours: no script, no CDN."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from synclog.selectors import HourBucket

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 480, 140, 36, 18, 8


def _n(value: float) -> str:
    return f"{value:.1f}"


def throughput_svg(buckets: list[HourBucket], *, label: str) -> SafeString:
    """Stacked bars per hour: succeeded (green) under failed (red), the scale in the corner."""
    peak = max((b.succeeded + b.failed for b in buckets), default=0) or 1
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / max(len(buckets), 1)
    bars = []
    for n, bucket in enumerate(buckets):
        x = PAD_LEFT + n * slot + 1
        ok_h = plot_h * bucket.succeeded / peak
        bad_h = plot_h * bucket.failed / peak
        base = HEIGHT - PAD_BOTTOM
        title = f"{bucket.start:%H:00} UTC: {bucket.succeeded} succeeded, {bucket.failed} failed"
        bars.append((x, base - ok_h, slot - 2, ok_h, "ok", title))
        bars.append((x, base - ok_h - bad_h, slot - 2, bad_h, "failed", title))
    rects = format_html_join(
        "",
        '<rect class="bar-{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
        ((kind, _n(x), _n(y), _n(w), _n(h), title) for x, y, w, h, kind, title in bars if h > 0),
    )
    ticks = format_html_join(
        "",
        '<text class="tick" x="{}" y="{}">{}</text>',
        (
            (_n(PAD_LEFT + n * slot), HEIGHT - 4, f"{b.start:%H}h")
            for n, b in enumerate(buckets)
            if n % 6 == 0 or n == len(buckets) - 1
        ),
    )
    return format_html(
        '<svg class="throughput" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="tick" x="0" y="{}">{}</text><text class="tick" x="0" y="{}">0</text>{}{}</svg>',
        label,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        PAD_LEFT,
        HEIGHT - PAD_BOTTOM,
        WIDTH,
        HEIGHT - PAD_BOTTOM,
        PAD_TOP + 8,
        peak,
        HEIGHT - PAD_BOTTOM,
        rects,
        ticks,
    )
