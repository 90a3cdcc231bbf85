"""The widget in Serbian Cyrillic (chosen by data-lang) and in German (chosen by the
browser's language): its own texts, plural forms and relative times, in real Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.test_widget_states import seed
from tests.support.browser import Comments, open_page

pytestmark = pytest.mark.e2e
FOUR_YEARS = 4 * 365 * 86400 + 86400


async def test_serbian_cyrillic_by_data_lang(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    empty = await open_page(await new_context(), comments.article(site, "prazno", lang="sr-Cyrl"))
    await expect(empty.get_by_text("Будите први који ће оставити коментар.")).to_be_visible()
    await expect(empty.get_by_role("heading", name="0 коментара")).to_be_visible()

    await seed(comments, site, "stara", "Стари коментар", ago=FOUR_YEARS)
    await seed(comments, site, "stara", "Званична реч", moderator=True, name="Уредник")
    page = await open_page(await new_context(), comments.article(site, "stara", lang="sr-Cyrl"))
    await expect(page.get_by_role("heading", name="2 коментара")).to_be_visible()  # "few"
    await expect(page.get_by_text("пре 4 године")).to_be_visible()
    mod = page.locator("li.c", has_text="Званична реч")
    await expect(mod.get_by_text("Модератор", exact=True)).to_be_visible()
    await expect(page.locator("li.c .nm").last).to_have_text("Без имена")

    await page.get_by_label("Коментар").fill("Нови коментар")
    await page.get_by_role("button", name="Пошаљи").click()
    await expect(page.get_by_text("Хвала! Ваша порука је примљена!")).to_be_visible()
    await expect(page.get_by_role("heading", name="3 коментара")).to_be_visible()
    await expect(
        page.locator("li.c", has_text="Нови коментар").get_by_text("управо сада")
    ).to_be_visible()
    assert (
        await page.locator("#threadline").evaluate("h => h.shadowRoot.querySelector('.tl').lang")
        == "sr-Cyrl"
    )
    assert page.errors == []  # type: ignore[attr-defined]


async def test_german_by_the_browsers_language(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    ctx = await new_context(locale="de-AT")
    empty = await open_page(ctx, comments.article(site, "leer"))
    await expect(empty.get_by_text("Schreib den ersten Kommentar.")).to_be_visible()
    await expect(empty.get_by_role("button", name="Senden")).to_be_visible()

    await seed(comments, site, "alt", "Alter Kommentar", ago=FOUR_YEARS)
    page = await open_page(ctx, comments.article(site, "alt"))
    await expect(page.get_by_role("heading", name="1 Kommentar", exact=True)).to_be_visible()
    await expect(page.get_by_text("vor 4 Jahren")).to_be_visible()
    await expect(page.locator("li.c .nm")).to_have_text("Kein Name")
    await page.get_by_label("Kommentar", exact=True).fill("Servus")
    await page.get_by_role("button", name="Senden").click()
    await expect(page.get_by_text("Danke! Dein Beitrag ist angekommen!")).to_be_visible()
    await expect(page.get_by_role("heading", name="2 Kommentare")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_english_needs_no_catalogue_request(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    page = await (await new_context()).new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/i18n" in r.url else None)
    await page.goto(comments.article(site, "english"))
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible()
    assert asked == []


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 500, "body": "oops"},
        {"status": 200, "body": '{"lang": "", "messages": {"empty": "Soyez le premier"}}'},
        {"status": 200, "body": "not json"},
    ],
)
async def test_an_unusable_catalogue_falls_back_to_english(
    answer: dict[str, Any], comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ctx = await new_context(locale="fr-FR")
    await ctx.route(
        "**/i18n?*", lambda route: route.fulfill(content_type="application/json", **answer)
    )
    page = await open_page(ctx, comments.article(site, f"casse-{answer['status']}"))
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible()
    await expect(page.get_by_role("button", name="Submit")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]
