"""The /usage chart: a PNG whose bars follow the figures, drawn by a library the bot only loads when asked."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, timedelta

import pytest
from PIL import Image

from bot.charts import _BAR, _MARGIN_BOTTOM, _MARGIN_LEFT, _MARGIN_RIGHT, HEIGHT, WIDTH, units_chart


def bar_height(image: Image.Image, index: int, count: int) -> int:
    """Pixels of bar colour in the middle column of the ``index``-th of ``count`` slots."""
    slot = (WIDTH - _MARGIN_LEFT - _MARGIN_RIGHT) / count
    x = int(_MARGIN_LEFT + slot * (index + 0.5))
    return sum(1 for y in range(HEIGHT - _MARGIN_BOTTOM) if image.getpixel((x, y)) == _BAR)


def test_bars_follow_the_units_of_each_day() -> None:
    units = [0, 10, 40, 20]
    days = [(date(2026, 11, 1) + timedelta(days=n), value) for n, value in enumerate(units)]

    png = Image.open(io.BytesIO(units_chart(days, "Units per day")))

    assert (png.format, png.size) == ("PNG", (WIDTH, HEIGHT))
    image = png.convert("RGB")
    heights = [bar_height(image, n, len(units)) for n in range(len(units))]
    assert heights[0] == 0
    assert 0 < heights[1] < heights[3] < heights[2]
    assert heights[2] == pytest.approx(4 * heights[1], abs=2)


def test_a_chart_needs_a_day() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        units_chart([], "Nothing")


def test_starting_the_bot_does_not_load_the_drawing_library() -> None:
    code = "import sys, bot.app, bot.handlers.usage; print('PIL' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"
