"""Ranking comments by readers' reactions under ``order=best``: the lower bound of the 95 %
Wilson score interval, and the ordering key that ties break by time.

The Wilson lower bound (E. B. Wilson, "Probable inference, the law of succession, and
statistical inference", JASA 22, 1927) of a proportion of ``positive`` out of ``n`` trials is

    (p + z²/2n - z·√(p(1 - p)/n + z²/4n²)) / (1 + z²/n),   p = positive / n

with z = 1.96 for 95 % confidence. It ranks a comment by how good its share of positive
reactions can be said to be at least, given how few there are: 1 up of 1 ranks below 40 up
of 50. With every reaction positive (an upvote-only site, or emoji) p = 1 and it reduces to
n / (n + z²): more reactions rank higher, with diminishing returns.

Pure functions: scores are computed in Python from per-reaction counts, identically for
every page of a listing, so a cursor can carry the score of the last comment it showed and
the next page compares exactly equal floats."""

from __future__ import annotations

import math
from collections.abc import Mapping

from server.core.models import ReactionKind, ReactionSet

Z = 1.96  # the 97.5th percentile of the standard normal distribution: a 95 % interval

# Under order=best the first page ranks as of SETTLE_MS ago; a reaction (or its taking back)
# is stamped once its comment is locked and must commit within WRITE_WITHIN_MS of that stamp
# (core/reactions.py rolls back a slower one, to be retried): so no later page can find
# history stamped before its snapshot moment that the first page could not yet see.
SETTLE_MS = 2_000
WRITE_WITHIN_MS = 1_000


def wilson_lower_bound(positive: int, total: int, z: float = Z) -> float:
    """The lower bound of the Wilson score interval for ``positive`` of ``total``; 0 when
    there is nothing to go on (formula in the module's docstring)."""
    if total <= 0:
        return 0.0
    positive = max(0, min(positive, total))
    p = positive / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, (centre - spread) / (1 + z2 / total))


def best_score(counts: Mapping[str, int], reactions: ReactionSet) -> float:
    """A comment's score from its count of each reaction, under the site's reaction set:
    up/down sites count "up" as positive of up + down; upvote and emoji sites count every
    reaction they offer as positive. Reactions the site no longer offers do not count."""
    choices = reactions.choices
    if reactions.kind is ReactionKind.UPDOWN:
        up, down = max(0, counts.get("up", 0)), max(0, counts.get("down", 0))
        return wilson_lower_bound(up, up + down)
    total = sum(max(0, counts.get(choice, 0)) for choice in choices)
    return wilson_lower_bound(total, total)


def best_key(score: float, created_at: int, comment_id: int) -> tuple[float, int, int]:
    """The ascending sort key of the best order: higher score first, then newer first
    (created_at, then id, descending). A cursor continues strictly after its last key."""
    return (-score, -created_at, -comment_id)
