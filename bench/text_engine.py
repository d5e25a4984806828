"""Throughput of smsgate.text.encode (choose encoding + segment) on mixed text.

Run: /work/venv/bin/python bench/text_engine.py [--seconds N]
Prints characters encoded and segmented per second, per kind of text and for the mix.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from smsgate.text import encode

ASCII = "The quick brown fox jumps over the lazy dog, 0123456789! "
EXTENSION = "Price: 25€ [net] {promo} ~50% off | path\\to ^top "
TURKISH = "Artık Ulusal Dil Tanımlayıcısı ile Türkçe karakterli smslerinizi iletebilirsiniz. "
EMOJI = "Party tonight 🎉🎉 bring snacks 🍕 and drinks 🍻 see you 😀 "


def corpus(seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    """Messages of 20..600 characters of each kind, plus some mixing all four."""
    rng = random.Random(seed)
    kinds = {"ascii": ASCII, "extension": EXTENSION, "turkish": TURKISH, "emoji": EMOJI}
    out: list[tuple[str, dict[str, Any]]] = []
    for _ in range(50):
        for name, sample in kinds.items():
            n = rng.randint(20, 600)
            s = (sample * (n // len(sample) + 1))[:n]
            # every other Turkish message asks for the Turkish tables, as a real client would
            kwargs = {"language_code": "TR"} if name == "turkish" and rng.random() < 0.5 else {}
            out.append((s, kwargs))
        mixed = "".join(rng.choice(list(kinds.values()))[: rng.randint(10, 60)] for _ in range(6))
        out.append((mixed, {}))
    rng.shuffle(out)
    return out


def run(messages: list[tuple[str, dict[str, Any]]], seconds: float) -> tuple[float, int]:
    chars = rounds = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for s, kwargs in messages:
            encode(s, **kwargs)
            chars += len(s)
        rounds += 1
    elapsed = time.perf_counter() - start
    return chars / elapsed, rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    messages = corpus()
    run(messages[:20], 0.2)  # warm the charset caches
    rate, rounds = run(messages, args.seconds)
    total = sum(len(s) for s, _ in messages)
    print(
        f"mixed text ({len(messages)} messages, {total} chars, {rounds} rounds): "
        f"{rate:,.0f} characters encoded+segmented per second"
    )


if __name__ == "__main__":
    main()
