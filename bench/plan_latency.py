"""Time to plan a day for random subsets of sites, up to 8 (target: under 50 ms).

    python bench/plan_latency.py [--plans 300]

The real knowledge base has 7 route sites; for 8 the benchmark adds a synthetic eighth
site with travel times to every place, so the exact ordering is timed at its limit.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.itinerary.planner import Planner  # noqa: E402
from bot.itinerary.travel import load_travel  # noqa: E402
from bot.knowledge.loader import load_topics  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")


def planner_with_eight_sites() -> Planner:
    topics = load_topics(ROOT / "knowledge")
    travel = load_travel(ROOT / "knowledge", topics)
    routes = [t for t in topics if t.kind == "route"]
    extra = replace(routes[0], id="synthetic-site", visit_minutes=45)
    rng = random.Random(1)
    for place in [t.id for t in routes] + list(travel.start_places):
        travel.minutes[frozenset((place, extra.id))] = rng.randint(10, 80)
    return Planner([*topics, extra], travel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=300)
    args = parser.parse_args()
    planner = planner_with_eight_sites()
    sites, starts = sorted(planner.sites), list(planner.travel.start_places)
    rng = random.Random(7)
    by_size: dict[int, list[float]] = {}
    for _ in range(args.plans):
        chosen = rng.sample(sites, rng.randint(1, len(sites)))
        day = date(2027, 1, 1 + rng.randrange(28))
        begin = datetime(day.year, day.month, day.day, rng.choice([8, 9, 10]), tzinfo=SHANGHAI)
        start = time.perf_counter()
        planner.plan(chosen, day, rng.choice(starts), begin)
        by_size.setdefault(len(chosen), []).append((time.perf_counter() - start) * 1000)
    print(f"{args.plans} random plans over {len(sites)} sites")
    for size in sorted(by_size):
        values = sorted(by_size[size])
        median = statistics.median(values)
        print(f"  {size} sites: median {median:6.2f} ms   max {values[-1]:6.2f} ms ({len(values)})")


if __name__ == "__main__":
    main()
