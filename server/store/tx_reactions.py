"""A transaction's queries on readers' reactions and the totals kept beside each comment."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server.core.models import Status
from server.core.transactions.reactions import LiveReaction, NewReaction, ReactionsTx, Totals
from server.store.connection import Connection
from server.store.rows import reaction_counts_from_json, reaction_counts_json
from server.store.schema import comments, reactions

r = reactions.c
# Imported totals become rows of voters nobody can be (author hashes are 64 hex digits);
# more than this many of one comment are not kept as rows.
IMPORTED_VOTER = "imported:"
IMPORTED_MAX = 10_000

LIVE = r.removed_at.is_(None)
# Statements built once (their cache keys memoized): a reaction is a hot path under bursts.
LIVE_BY_VOTER = select(r.voter, r.network, r.kind).where(
    r.comment_id == bindparam("b_comment"), LIVE, r.voter == bindparam("b_voter")
)
LIVE_BY_VOTER_OR_NETWORK = select(r.voter, r.network, r.kind).where(
    r.comment_id == bindparam("b_comment"),
    LIVE,
    or_(r.voter == bindparam("b_voter"), r.network == bindparam("b_network")),
)
# Without a conflict target: either partial unique index (one live row per voter, one per
# network) turns a concurrent duplicate into no row, never an error.
INSERT_REACTION = {
    dialect: module.insert(reactions).on_conflict_do_nothing()
    for dialect, module in (("postgresql", postgresql), ("sqlite", sqlite))
}
REMOVE_REACTION = (
    update(reactions)
    .where(r.comment_id == bindparam("b_comment"), r.voter == bindparam("b_voter"), LIVE)
    .values(removed_at=bindparam("b_now"))
    .returning(r.kind)
)
COUNT_REACTIONS = (
    select(r.kind, func.count())
    .where(r.comment_id == bindparam("b_comment"), LIVE)
    .group_by(r.kind)
)
STORE_TOTALS = (
    update(comments)
    .where(comments.c.id == bindparam("b_comment"))
    .values(reaction_counts=bindparam("b_totals"))
)


class ReactionQueries(ReactionsTx):
    """Reactions, one live row per reader and comment; totals counted from the live rows."""

    conn: Connection
    dialect: str

    async def live_reactions(
        self, comment_id: int, voter: str, network: str | None
    ) -> list[LiveReaction]:
        params = {"b_comment": comment_id, "b_voter": voter}
        if network is None:
            rows = await self.conn.execute(LIVE_BY_VOTER, params)
        else:
            rows = await self.conn.execute(
                LIVE_BY_VOTER_OR_NETWORK, {**params, "b_network": network}
            )
        return [LiveReaction(row.voter, row.network, row.kind) for row in rows]

    async def add_reaction(self, new: NewReaction) -> bool:
        result = await self.conn.execute(
            INSERT_REACTION[self.dialect],
            {
                "site_id": new.site_id,
                "page_id": new.page_id,
                "comment_id": new.comment_id,
                "voter": new.voter,
                "network": new.network,
                "kind": new.kind,
                "created_at": new.created_at,
            },
        )
        return bool(getattr(result, "rowcount", 0))

    async def remove_reaction(self, comment_id: int, voter: str, now: int) -> str | None:
        row = (
            await self.conn.execute(
                REMOVE_REACTION, {"b_comment": comment_id, "b_voter": voter, "b_now": now}
            )
        ).first()
        return None if row is None else str(row.kind)

    async def recount_reactions(self, comment_id: int, choices: Sequence[str]) -> Totals:
        result = await self.conn.execute(COUNT_REACTIONS, {"b_comment": comment_id})
        counted: dict[str, int] = {str(kind): int(n) for kind, n in result.all()}
        totals = tuple((kind, int(counted[kind])) for kind in choices if counted.get(kind))
        await self.conn.execute(
            STORE_TOTALS, {"b_comment": comment_id, "b_totals": reaction_counts_json(totals)}
        )
        return totals

    async def set_reactions(
        self, site_id: str, page_id: int, comment_id: int, totals: Totals, at: int
    ) -> None:
        rows: list[dict[str, object]] = []
        for kind, count in totals:
            for _ in range(max(0, min(count, IMPORTED_MAX - len(rows)))):
                rows.append(
                    {
                        "site_id": site_id,
                        "page_id": page_id,
                        "comment_id": comment_id,
                        "voter": f"{IMPORTED_VOTER}{len(rows)}",
                        "network": None,
                        "kind": kind,
                        "created_at": at,
                    }
                )
        if rows:
            await self.conn.execute(INSERT_REACTION[self.dialect], rows)

    async def my_reactions(
        self, site_id: str, page_id: int, voter: str, limit: int
    ) -> list[tuple[int, str]]:
        rows = await self.conn.execute(
            select(r.comment_id, r.kind)
            .where(r.site_id == site_id, r.voter == voter, r.page_id == page_id, LIVE)
            .order_by(r.created_at.desc(), r.id.desc())
            .limit(limit)
        )
        return [(int(row.comment_id), str(row.kind)) for row in rows]

    async def reaction_totals(self, comment_ids: Sequence[int]) -> dict[int, Totals]:
        if not comment_ids:
            return {}
        rows = await self.conn.execute(
            select(comments.c.id, comments.c.reaction_counts).where(
                comments.c.id.in_(list(comment_ids)),
                comments.c.status == Status.APPROVED.value,
            )
        )
        return {int(row.id): reaction_counts_from_json(row.reaction_counts) for row in rows}

    async def delete_reactions_of(self, site_id: str, voter: str) -> list[tuple[int, int]]:
        live = await self.conn.execute(
            select(r.comment_id, r.page_id)
            .where(r.site_id == site_id, r.voter == voter, LIVE)
            .order_by(r.comment_id)
        )
        touched = [(int(row.comment_id), int(row.page_id)) for row in live]
        await self.conn.execute(delete(reactions).where(r.site_id == site_id, r.voter == voter))
        return touched
