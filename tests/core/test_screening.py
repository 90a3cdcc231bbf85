"""Word filters read text as people do: disguised words are caught, innocent words in
other scripts are not, and the reason a moderator sees names the word as configured."""

from __future__ import annotations

import pytest

from server.core.errors import Invalid
from server.core.models import Filters, Site, Status
from server.core.screening import Decision, decide


def _site(*, banned: tuple[str, ...] = (), suspect: tuple[str, ...] = ()) -> Site:
    return Site(
        id="s",
        name="s",
        origins=("https://blog.test",),
        filters=Filters(banned_words=banned, suspect_words=suspect),
    )


# (what the disguise is, the list as the owner wrote it, the disguised text, the word the
# moderator is shown)
BYPASSES = [
    ("fullwidth", ("bad",), "ｂａｄ", "bad"),
    ("fullwidth capitals", ("bad",), "ＢＡＤ", "bad"),
    ("mathematical bold", ("bad",), "𝐛𝐚𝐝", "bad"),
    ("mathematical script capitals", ("bad",), "𝓑𝓐𝓓", "bad"),
    ("zero-width space inside", ("bad",), "b\u200bad", "bad"),
    ("zero-width joiner inside", ("bad",), "ba\u200dd", "bad"),
    ("word joiner inside", ("bad",), "b\u2060ad", "bad"),
    ("soft hyphen inside", ("bad",), "b\u00adad", "bad"),
    ("byte-order mark inside", ("bad",), "b\ufeffad", "bad"),
    ("variation selector inside", ("bad",), "b\ufe0fad", "bad"),
    ("grapheme joiner inside", ("bad",), "b\u034fad", "bad"),
    ("Cyrillic а", ("bad",), "bаd", "bad"),
    ("Greek ο and Cyrillic е", ("nope",), "nοpе", "nope"),
    ("Cyrillic capitals", ("hate",), "НАТЕ", "hate"),
    ("Greek capitals", ("nazi",), "ΝΑΖΙ", "nazi"),
    ("Cyrillic capital І", ("idiot",), "ІDIOT", "idiot"),
    ("decomposed accent in the text", ("café",), "cafe\u0301", "café"),
    ("decomposed accent in the list", ("cafe\u0301",), "café", "cafe\u0301"),
    ("capitals and a look-alike in the list", ("Bad",), "bаd", "Bad"),
    ("Serbian Cyrillic word in capitals", ("курац",), "КУРАЦ", "курац"),
    ("Serbian Cyrillic word with Latin look-alikes", ("курац",), "куpaц", "курац"),
    ("German ß as ss", ("scheiße",), "SCHEISSE", "scheiße"),
    ("small capitals", ("viagra",), "\u1d20\u026a\u1d00\u0262\u0280\u1d00", "viagra"),
    ("small capitals and an s", ("casino",), "\u1d04\u1d00s\u026a\u0274\u1d0f", "casino"),
    (
        "small capitals of every letter",
        ("the quick brown fox jumps over a lazy dog",),
        "\u1d1b\u029c\u1d07 \ua7af\u1d1c\u026a\u1d04\u1d0b \u0299\u0280\u1d0f\u1d21\u0274 "
        "\ua730\u1d0fx \u1d0a\u1d1c\u1d0d\u1d18\ua731 \u1d0f\u1d20\u1d07\u0280 \u1d00 "
        "\u029f\u1d00\u1d22\u028f \u1d05\u1d0f\u0262",
        "the quick brown fox jumps over a lazy dog",
    ),
    # Marks no alphabet writes: decorations, stacks, accents written apart from a plain
    # letter that keyboards send precomposed.
    ("underlined letters", ("viagra",), "v\u0332i\u0332a\u0332g\u0332r\u0332a\u0332", "viagra"),
    ("struck-through letters", ("casino",), "c\u0336a\u0336s\u0336i\u0336n\u0336o\u0336", "casino"),
    ("one struck-through letter", ("casino",), "cas\u0338ino", "casino"),
    ("enclosed letters", ("bad",), "b\u20dda\u20ddd\u20dd", "bad"),
    ("diaeresis written apart", ("viagra",), "via\u0308gra", "viagra"),
    ("diaeresis written apart on the last letter", ("casino",), "casino\u0308", "casino"),
    ("acute written apart on the last letter", ("viagra",), "viagra\u0301", "viagra"),
    (
        "marks stacked on letters",
        ("viagra",),
        "v\u0310\u0351i\u0352\u0357a\u0300\u0316gra",
        "viagra",
    ),
    ("a mark no Latin letter carries, after the word", ("viagra",), "viagra\u0352", "viagra"),
    ("a mark beyond the BMP, after the word", ("viagra",), "viagra\U0001d167", "viagra"),
    ("an invisible between a letter and its mark", ("viagra",), "v\u200b\u0332iagra", "viagra"),
    ("fullwidth letters struck through", ("casino",), "\uff43\u0336\uff41\u0336sino", "casino"),
    ("Cyrillic struck through", ("курац",), "к\u0336урац", "курац"),
    # Blanks that are not white space part words as the spaces they look like.
    ("Hangul filler for a space", ("viagra",), "buy\u3164viagra\u3164now", "viagra"),
    ("halfwidth Hangul filler for a space", ("viagra",), "buy\uffa0viagra\uffa0now", "viagra"),
    ("Hangul jamo fillers for spaces", ("viagra",), "buy\u115fviagra\u1160now", "viagra"),
    ("Braille blank for a space", ("viagra",), "buy\u2800viagra\u2800now", "viagra"),
    # Default-ignorable characters that are not format characters join like them.
    ("Khmer inherent vowel after the word", ("viagra",), "viagra\u17b5", "viagra"),
    ("Khmer inherent vowel inside", ("viagra",), "via\u17b4gra", "viagra"),
    ("Mongolian variation selector inside", ("bad",), "b\u180bad", "bad"),
    ("reserved default-ignorable inside", ("bad",), "b\u2065a\U000e0100d", "bad"),
]
IDS = [case[0] for case in BYPASSES]


@pytest.mark.parametrize(("case", "words", "text", "word"), BYPASSES, ids=IDS)
def test_disguised_banned_words_are_refused(
    case: str, words: tuple[str, ...], text: str, word: str
) -> None:
    site = _site(banned=words)
    for body, name in ((f"this is {text}, really", None), ("hello", f"{text} guy")):
        with pytest.raises(Invalid) as refused:
            decide(site, body, name, author_approved=1)
        assert refused.value.code == "comment_rejected"


@pytest.mark.parametrize(("case", "words", "text", "word"), BYPASSES, ids=IDS)
def test_disguised_suspect_words_are_held_naming_the_configured_word(
    case: str, words: tuple[str, ...], text: str, word: str
) -> None:
    site = _site(suspect=words)
    held = Decision(Status.PENDING, f"suspect word: {word}")
    assert decide(site, f"this is {text}, really", None, author_approved=1) == held
    assert decide(site, "hello", f"{text} guy", author_approved=1) == held


@pytest.mark.parametrize(
    "text",
    [
        "ass",
        "ASS!",
        "(ass)",
        "kiss my ａｓｓ.",
        "a\u200bss",
        "«ass»",
        "3 ass 4",
    ],
)
def test_whole_words_match_after_folding(text: str) -> None:
    assert decide(_site(suspect=("ass",)), text, None, author_approved=1).status is Status.PENDING


@pytest.mark.parametrize(
    "text",
    [
        "class",
        "assassin",
        "ｃｌａｓｓ",
        "cl\u200bass",  # invisible characters join, never split
        "bad\u200bass",
        "ass\u0331",  # a mark on its last letter (s̱, no precomposed form) makes another word
        "Das macht Spaß, die Klasse lacht.",  # German: ß folds to ss, inside a word
        "mass_assignment",
        "ass1",
    ],
)
def test_words_inside_other_words_are_not_matched(text: str) -> None:
    assert decide(_site(suspect=("ass",)), text, None, author_approved=1) == Decision(
        Status.APPROVED
    )


def test_combining_marks_belong_to_their_word() -> None:
    # Devanagari vowel signs are combining marks: "बसा" (settled) is not "बस" (enough).
    site = _site(suspect=("बस",))
    assert decide(site, "वह यहाँ बसा है", None, author_approved=1).status is Status.APPROVED
    assert decide(site, "बस करो", None, author_approved=1).status is Status.PENDING


@pytest.mark.parametrize(
    ("words", "text"),
    [
        # German: umlauts stay letters of their own ("schwül" is humid, "schwul" a slur).
        (("schwul",), "Heute ist es schwül."),
        (("fur", "mull"), "Grüße für dich, und bring den Müll raus."),
        # Serbian Cyrillic: a transliteration is not a look-alike. п, и, з, к, м, н, в, т look
        # like no Latin lowercase letter.
        (("nazi",), "Пази, пас!"),
        (("kurac",), "курац"),
        (("nas", "vas", "hac", "bac"), "Код нас и код вас."),
        (("kym", "kum"), "Кум је дошао."),
        (("top", "tata"), "Он је био топ играч, а тата га је гледао."),
        (("mama", "pizda"), "мама, пиздa"),  # one Latin a is not enough to make it Latin
        # Greek: ν is not v, η is not n.
        (("nai", "hta"), "ναι, ήταν"),
    ],
)
def test_innocent_words_in_other_scripts_are_not_caught(words: tuple[str, ...], text: str) -> None:
    assert decide(_site(banned=words, suspect=words), text, None, author_approved=1) == Decision(
        Status.APPROVED
    )


@pytest.mark.parametrize(
    ("words", "text"),
    [
        # A letter with an accent is a letter of its own where it is written: typed as keyboards
        # send it, it never reads as the plain letter.
        (("schwul", "fur"), "Heute ist es schw\u00fcl, sch\u00f6n f\u00fcr dich."),  # humid, for
        (("ano",), "Feliz a\u00f1o nuevo."),  # Spanish: year, not anus
        (("sisa",), "\u0160i\u0161a se kod berberina."),  # Serbian: has his hair cut
        (("pate", "cote"), "Une p\u00e2te sur la c\u00f4te."),  # French: dough, coast
        (("sik",), "Ne \u015fik!"),  # Turkish: how chic
        (("ass",), "ass\u0331"),  # one mark with no precomposed letter: s̱, a letter too
    ],
)
def test_letters_with_accents_are_not_their_plain_letters(
    words: tuple[str, ...], text: str
) -> None:
    assert decide(_site(banned=words, suspect=words), text, None, author_approved=1) == Decision(
        Status.APPROVED
    )


def test_a_word_in_the_list_keeps_its_marks() -> None:
    # The owner's words are taken as written: a banned "cafe" + U+0301 is café, not cafe.
    site = _site(banned=("cafe\u0301",))
    assert decide(site, "a cafe", None, author_approved=1) == Decision(Status.APPROVED)


def test_word_lists_are_compiled_once_per_list() -> None:
    from server.core.screening import _word_list

    words = ("casino", "ｆｒｅｅ money")
    _word_list.cache_clear()
    for _ in range(3):
        decide(_site(banned=(), suspect=words), "free money", None, author_approved=1)
    assert _word_list.cache_info().misses == 2  # the (empty) banned list and the suspect list
