"""PreviewStore keeps a bounded number of drafts: per person and in total, the oldest go first."""

from __future__ import annotations

from bot.services.previews import PreviewStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_sixth_preview_of_one_person_pushes_out_their_oldest_only() -> None:
    clock = Clock()
    store: PreviewStore[str] = PreviewStore(clock=clock, per_owner=5, total=100)
    other = store.put("other's", owner_user_id=2)
    tokens = []
    for n in range(6):
        clock.now += 1
        tokens.append(store.put(f"draft {n}", owner_user_id=1))
    assert store.take(tokens[0]) is None  # the oldest answers "expired"
    assert [store.take(t) for t in tokens[1:]] == [f"draft {n}" for n in range(1, 6)]
    assert store.take(other) == "other's"  # another person's preview is untouched


def test_the_store_never_holds_more_than_its_total_and_drops_the_oldest() -> None:
    clock = Clock()
    store: PreviewStore[int] = PreviewStore(clock=clock, per_owner=5, total=1_000)
    tokens = []
    for user in range(1_200):
        clock.now += 1
        tokens.append(store.put(user, owner_user_id=user))
    kept = [store.take(t) for t in tokens]
    assert kept[:200] == [None] * 200
    assert kept[200:] == list(range(200, 1_200))


def test_expired_previews_go_before_live_ones_are_pushed_out() -> None:
    clock = Clock()
    store: PreviewStore[str] = PreviewStore(clock=clock, ttl=60, per_owner=5, total=3)
    stale = store.put("stale", owner_user_id=1)
    clock.now = 30
    live = [store.put(f"live {n}", owner_user_id=10 + n) for n in range(2)]
    clock.now = 61  # "stale" expired
    newest = store.put("newest", owner_user_id=20)
    assert store.take(stale) is None
    assert [store.take(t) for t in live] == ["live 0", "live 1"]
    assert store.take(newest) == "newest"


def test_previews_without_an_owner_count_only_toward_the_total() -> None:
    store: PreviewStore[int] = PreviewStore(per_owner=2, total=10)
    tokens = [store.put(n, owner_user_id=None) for n in range(6)]
    assert [store.take(t) for t in tokens] == list(range(6))
