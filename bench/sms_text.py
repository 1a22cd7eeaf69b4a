"""Cost of counting one text's SMS parts: ``measure`` runs once per recipient of a personalised bulk.

Run from the repository root with ``python -m bench.sms_text`` (``make bench``). Each row is the best of several
timing rounds (the least disturbed by other processes) for a text of about 100 characters. The target, < 5 µs,
is for the texts most messages are: GSM-7, and UCS-2 without emoji or combining marks (a curly quote or an
accented letter is enough for UCS-2). Texts with emoji or marks go through grapheme segmentation and are shown
for comparison.
"""

from __future__ import annotations

import timeit

from bot.sms_text import measure

TARGET_US = 5.0
ROUNDS = 7
NUMBER = 20_000

# (label, text, whether the target applies)
TEXTS = [
    (
        "GSM-7, English/Swahili",
        "Habari John, order 4521 is ready for pick up at the Westlands shop before 6pm. Asante!",
        True,
    ),
    ("GSM-7, 2 parts", "Habari John, order 4521 is ready. " * 5, True),
    (
        "UCS-2, curly quote",
        "Habari John, your order 4521 is ready: it’s at the Westlands shop until 6pm. Asante sana!",
        True,
    ),
    (
        "UCS-2, Cyrillic",
        "Привет Иван, ваш заказ 4521 готов, заберите его в магазине до 18:00 сегодня. Спасибо!!!",
        True,
    ),
    (
        "UCS-2, 👍🏽 and 🇰🇪",
        "Habari John, your order 4521 is ready 👍🏽 pick it up at the Westlands shop. Asante sana! 🇰🇪",
        False,
    ),
    ("UCS-2, Devanagari", "नमस्ते जॉन, आपका ऑर्डर 4521 तैयार है, कृपया शाम 6 बजे से पहले वेस्टलैंड्स दुकान से ले लें। धन्यवाद!", False),
]


def microseconds(text: str) -> float:
    return min(timeit.repeat(lambda: measure(text), number=NUMBER, repeat=ROUNDS)) / NUMBER * 1e6


def main() -> None:
    print(f"measure() per text, best of {ROUNDS} × {NUMBER:,} calls")
    verdicts = []
    for label, text, targeted in TEXTS:
        length = measure(text)
        took = microseconds(text)
        if targeted:
            verdicts.append(took < TARGET_US)
        verdict = ("met" if took < TARGET_US else "NOT met") if targeted else "shown only"
        print(
            f"  {label:<24} {len(text):>3} chars, {length.encoding.value}, {length.segments} part(s): "
            f"{took:5.2f} µs ({verdict})"
        )
    print(f"target < {TARGET_US:g} µs for a typical 100-character text: {'met' if all(verdicts) else 'NOT met'}")


if __name__ == "__main__":
    main()
