"""The merge policy: tiers by size, merged when full and within the budget of work."""

from __future__ import annotations

from index.engine.segments import SEGMENTS_PER_TIER, tier, tier_to_merge


def test_tiers_are_powers_of_eight() -> None:
    assert [tier(n) for n in (0, 1, 7, 8, 63, 64, 511, 512, 25_000, 1_000_000)] == [
        0,
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        4,
        6,
    ]


def test_nothing_merges_until_a_tier_is_full() -> None:
    sizes = [(i, 12) for i in range(SEGMENTS_PER_TIER - 1)] + [(100, 250_000)]
    assert tier_to_merge(sizes, budget=20_000) is None


def test_the_smallest_full_tier_merges_first() -> None:
    small = [(i, 12) for i in range(SEGMENTS_PER_TIER)]
    big = [(100 + i, 30_000) for i in range(SEGMENTS_PER_TIER)]
    assert tier_to_merge(big + small, budget=1_000_000) == [i for i, _ in small]


def test_a_full_tier_over_the_budget_waits() -> None:
    big = [(i, 30_000) for i in range(SEGMENTS_PER_TIER)]  # 240,000 paragraphs to rewrite
    assert tier_to_merge(big, budget=20_000) is None  # one small add never pays for it
    assert tier_to_merge(big, budget=300_000) == [i for i, _ in big]  # a bulk load may
