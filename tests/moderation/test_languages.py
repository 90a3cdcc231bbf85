"""Moderation pages speak the moderator's browser language: pages, flash messages and the
catalogue the live script reads."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.support.api import Api


async def test_queue_and_flash_in_german_and_serbian_cyrillic(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    cid = (await api.post(site, body="Bitte prüfen"))["comment"]["id"]
    async with make_mod(site) as mod:
        mod.http.headers["Accept-Language"] = "de-DE,de;q=0.9,en;q=0.5"
        html = await mod.queue()
        assert '<html lang="de">' in html
        for text in (
            "Warteschlange",
            "Ausstehend",
            "Freigeben",
            "Abmelden",
            "Kein Name",
            "Zurückgehalten:",
            "Antworten, bearbeiten oder sperren",
        ):
            assert text in html, text
        script = re.search(
            r'<script type="application/json" id="tl-messages">(.*?)</script>', html, re.S
        )
        assert script is not None
        assert json.loads(script.group(1))["Saved."] == "Gespeichert."

        done = await mod.http.post(
            f"/moderate/comments/{cid}/approve", data={"csrf": mod.csrf, "expected": "pending"}
        )
        assert done.status_code == 303
        after = await mod.http.get(done.headers["location"])
        assert f"Kommentar {cid} freigegeben." in after.text

        # A plain form post (no script) in Serbian: the flash message is Cyrillic, which a
        # cookie cannot carry as text.
        mod.http.headers["Accept-Language"] = "sr-RS"
        other = (await api.post(site, body="Још један"))["comment"]["id"]
        done = await mod.http.post(
            f"/moderate/comments/{other}/spam", data={"csrf": mod.csrf, "expected": "pending"}
        )
        assert done.status_code == 303
        html = (await mod.http.get(done.headers["location"])).text
        assert f"Коментар {other} је означен као спам." in html
        assert '<html lang="sr-Cyrl">' in html and "Ред чекања" in html and "Одјава" in html

        mod.http.headers["Accept-Language"] = "ja"
        assert "Log out" in await mod.queue()


async def test_login_page_follows_the_browser_language(api: Api) -> None:
    page = await api.http.get("/moderate/login", headers={"Accept-Language": "fr-FR"})
    assert "Connexion des modérateurs" in page.text and "Mot de passe" in page.text
    page = await api.http.get("/moderate/login", headers={"Accept-Language": "es"})
    assert "Acceso de moderadores" in page.text
