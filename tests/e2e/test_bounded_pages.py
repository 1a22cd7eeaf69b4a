"""Page numbers and times of every command are read like ids: odd digits get a clear refusal, never a crash
alert to the admins."""

from __future__ import annotations

import pytest

from tests.e2e.harness import ADMIN, BotHarness
from tests.e2e.test_bad_input import error_alerts


@pytest.mark.parametrize(
    ("command", "words"),
    [
        pytest.param("/template list ²", "is not a page number", id="template-list-superscript"),
        pytest.param("/template list 99999999999999999999999", "is not a page number", id="template-list-huge"),
        pytest.param("/group show x ²", "is not a page number", id="group-show-superscript"),
        pytest.param("/send at:0001-01-01T00:00 0712345678 Hi", "has already passed", id="send-at-year-one"),
        pytest.param("/send at:9999-12-31T23:59 0712345678 Hi", "too far ahead", id="send-at-year-9999"),
    ],
)
async def test_odd_pages_and_times_are_refused_in_words_without_an_error_alert(
    bot: BotHarness, command: str, words: str
) -> None:
    reply = await bot.say(ADMIN, command)
    assert words in reply.text, reply.text
    assert error_alerts(bot) == []
    assert bot.texin.requests == []
