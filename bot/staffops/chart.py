"""The usage chart: questions per day by language (stacked bars) and the answer rate."""

from __future__ import annotations

import io

from bot.staffops.stats import Figures


def usage_chart(figures: Figures, title: str, rate_label: str) -> bytes:
    """A PNG of the figures. matplotlib is imported here, not at start-up: it is slow to
    import and only staff asking for a chart need it."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import pyplot

    days = list(figures.questions_per_day)
    langs = sorted({lang for counts in figures.questions_per_day.values() for lang in counts})
    fig, bars = pyplot.subplots(figsize=(9, 4.5), dpi=100)
    try:
        bottom = [0] * len(days)
        for lang in langs:
            heights = [figures.questions_per_day[d].get(lang, 0) for d in days]
            bars.bar(days, heights, bottom=bottom, label=lang)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        rate = bars.twinx()
        rate.plot(days, [100 * figures.rate_on(d) for d in days], color="black", marker="o",
                  label=rate_label)  # fmt: skip
        rate.set_ylim(0, 100)
        rate.set_ylabel(rate_label)
        bars.set_title(title)
        bars.tick_params(axis="x", labelrotation=45)
        if langs:
            bars.legend(loc="upper left", fontsize="small")
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        pyplot.close(fig)
