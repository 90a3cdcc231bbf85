"""A transaction's queries on single sign-on: keys, identities and their names, claims."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict

from sqlalchemy import delete, insert, or_, select, update

from server.core.models import Identity, SsoKey
from server.core.transactions.identities import (
    Claim,
    ClaimsTx,
    IdentitiesTx,
    NewIdentity,
    SsoKeysTx,
)
from server.store.connection import Connection
from server.store.rows import identity_from_row, sso_key_from_row
from server.store.schema import (
    claims,
    identities,
    identity_names,
    moderator_sites,
    moderators,
    sso_keys,
)


class SsoKeyQueries(SsoKeysTx):
    conn: Connection

    async def sso_keys(self, site_id: str) -> list[SsoKey]:
        q = select(sso_keys).where(sso_keys.c.site_id == site_id).order_by(sso_keys.c.created_at)
        return [sso_key_from_row(r) for r in await self.conn.execute(q)]

    async def insert_sso_key(self, key: SsoKey) -> None:
        await self.conn.execute(insert(sso_keys).values(**asdict(key)))

    async def delete_sso_key(self, site_id: str, kid: str) -> bool:
        result = await self.conn.execute(
            delete(sso_keys).where(sso_keys.c.site_id == site_id, sso_keys.c.kid == kid)
        )
        return bool(getattr(result, "rowcount", 0))


class IdentityQueries(IdentitiesTx):
    conn: Connection

    async def save_identity(self, identity: NewIdentity, now: int) -> Identity:
        i = identities.c
        values = {
            "name": identity.name,
            "avatar": identity.avatar,
            "moderator": identity.moderator,
            "seen_at": now,
        }
        row = (
            await self.conn.execute(
                update(identities)
                .where(i.site_id == identity.site_id, i.subject == identity.subject)
                .values(**values)
                .returning(*identities.c)
            )
        ).first()
        if row is None:
            row = (
                await self.conn.execute(
                    insert(identities)
                    .values(
                        site_id=identity.site_id,
                        subject=identity.subject,
                        author_hash=identity.author_hash,
                        created_at=now,
                        **values,
                    )
                    .returning(*identities.c)
                )
            ).one()
        saved = identity_from_row(row)
        await self.conn.execute(
            delete(identity_names).where(identity_names.c.identity_id == saved.id)
        )
        if identity.name_keys:
            await self.conn.execute(
                insert(identity_names),
                [
                    {"identity_id": saved.id, "name_key": key, "site_id": identity.site_id}
                    for key in identity.name_keys
                ],
            )
        return saved

    async def find_identity(self, author_hash: str) -> Identity | None:
        q = select(identities).where(identities.c.author_hash == author_hash)
        row = (await self.conn.execute(q)).first()
        return identity_from_row(row) if row else None

    async def identity_by_id(self, identity_id: int) -> Identity | None:
        row = (
            await self.conn.execute(select(identities).where(identities.c.id == identity_id))
        ).first()
        return identity_from_row(row) if row else None

    async def identities_of(self, author_hashes: Collection[str]) -> dict[str, Identity]:
        if not author_hashes:
            return {}
        q = select(identities).where(identities.c.author_hash.in_(list(author_hashes)))
        return {r.author_hash: identity_from_row(r) for r in await self.conn.execute(q)}

    async def end_sessions(self, identity_id: int, before: int) -> None:
        await self.conn.execute(
            update(identities).where(identities.c.id == identity_id).values(sessions_from=before)
        )

    async def delete_identity(self, author_hash: str) -> None:
        await self.conn.execute(delete(identities).where(identities.c.author_hash == author_hash))

    async def name_reserved(self, site_id: str, name_keys: Sequence[str]) -> bool:
        if not name_keys:
            return False
        q = (
            select(identity_names.c.identity_id)
            .where(
                identity_names.c.site_id == site_id,
                identity_names.c.name_key.in_(list(name_keys)),
            )
            .limit(1)
        )
        return (await self.conn.execute(q)).first() is not None

    async def moderator_names(self, site_id: str) -> list[str]:
        q = (
            select(moderators.c.display_name)
            .join(moderator_sites, moderator_sites.c.moderator_id == moderators.c.id)
            .where(moderator_sites.c.site_id == site_id, moderators.c.display_name.is_not(None))
        )
        return [r.display_name for r in await self.conn.execute(q)]


class ClaimQueries(ClaimsTx):
    conn: Connection

    async def insert_claim(self, site_id: str, claim: Claim) -> None:
        await self.conn.execute(insert(claims).values(site_id=site_id, **asdict(claim)))

    async def claims_of(self, site_id: str, identity_hash: str) -> list[Claim]:
        q = (
            select(claims)
            .where(claims.c.site_id == site_id, claims.c.identity_hash == identity_hash)
            .order_by(claims.c.comment_id)
        )
        return [
            Claim(r.comment_id, r.identity_hash, r.author_hash, r.author_name, r.created_at)
            for r in await self.conn.execute(q)
        ]

    async def delete_claims(self, comment_ids: Sequence[int]) -> None:
        if comment_ids:
            await self.conn.execute(delete(claims).where(claims.c.comment_id.in_(comment_ids)))

    async def forget_claims(self, site_id: str, author_hash: str) -> None:
        await self.conn.execute(
            delete(claims).where(
                claims.c.site_id == site_id,
                or_(claims.c.identity_hash == author_hash, claims.c.author_hash == author_hash),
            )
        )
