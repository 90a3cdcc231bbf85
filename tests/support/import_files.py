"""Export files as Disqus, WordPress and Isso write them, generated with the comment trees
they encode, so an import can be checked against what the file meant, not what it parsed."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

T0 = 1_500_000_000_000  # 2017-07-14
NAMES = ["Ana", "Đorđe Balašević", "Ђорђе", "Zoë O'Brien", "李雷", "Mark <b>", "  spaced   out  "]
LONG_NAME = "Bartholomew " * 6  # longer than the 50 characters a name may have


@dataclass
class Node:
    """One comment as the file means it: what a reader should see after the import."""

    name: str | None
    body: str
    status: str
    created_at: int
    children: list[Node] = field(default_factory=list)

    def shape(self) -> tuple[object, ...]:
        kids = sorted((c.shape() for c in self.children), key=repr)
        return (self.name, self.body, self.status, self.created_at, tuple(kids))


@dataclass
class Expected:
    trees: dict[str, list[Node]] = field(default_factory=dict)  # page key -> top level

    def shapes(self) -> dict[str, list[tuple[object, ...]]]:
        return {
            key: sorted((n.shape() for n in tops), key=repr)
            for key, tops in self.trees.items()
            if tops
        }

    def hold_under_hidden_threads(self) -> Expected:
        """Approved replies in a thread whose first comment is not published (nor a
        tombstone) can be seen by nobody: imports hold them for a moderator instead."""

        def hold(nodes: list[Node]) -> None:
            for n in nodes:
                n.status = "pending" if n.status == "approved" else n.status
                hold(n.children)

        for tops in self.trees.values():
            for top in tops:
                if top.status not in ("approved", "deleted"):
                    hold(top.children)
        return self

    def count(self, status: str | None = None) -> int:
        def walk(nodes: list[Node]) -> int:
            return sum((status is None or n.status == status) + walk(n.children) for n in nodes)

        return sum(walk(tops) for tops in self.trees.values())


def _shown_name(name: str | None) -> str | None:
    if name is None:
        return None
    text = " ".join(name.split())
    return (text[:49] + "…" if len(text) > 50 else text) or None


def _paragraphs(rng: random.Random, i: int) -> tuple[str, str]:
    """A comment body as HTML and as the text it should become."""
    parts = [f"Comment {i} says <hello> & «zdravo» — {rng.randint(0, 10**6)}"]
    html = [f"<p>{escape(parts[0], quote=False)}</p>"]
    if rng.random() < 0.3:
        parts.append("Second line")
        html.append("<p>first half<br>Second line</p>")
        parts[-1] = "first half\nSecond line"
    if rng.random() < 0.2:
        parts.append(f"see blog.test/{i} (https://blog.test/{i}?a=1&b=2)")
        html.append(
            f'<p>see <a href="https://blog.test/{i}?a=1&amp;b=2" rel="nofollow">'
            f"blog.test/{i}</a></p>"
        )
    return "".join(html), "\n\n".join(parts)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def disqus_export(path: Path, posts: int = 600, threads: int = 15, seed: int = 3) -> Expected:
    """A Disqus XML export: threads (some never commented on), posts nested to any depth,
    listed out of order, with spam, deleted posts, anonymous authors and HTML bodies."""
    rng = random.Random(seed)
    expected = Expected()
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<disqus xmlns="http://disqus.com" '
        'xmlns:dsq="http://disqus.com/disqus-internals" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://disqus.com/api/schemas/1.0/disqus.xsd">',
        '  <category dsq:id="9"><forum>blog</forum><title>General</title>'
        "<isDefault>true</isDefault></category>",
    ]
    for t in range(1, threads + 1):
        query = "?utm_source=feed" if t % 3 == 0 else ""
        out.append(
            f'  <thread dsq:id="{1000 + t}"><id>post-{t}</id><forum>blog</forum>'
            f'<category dsq:id="9"/><link>https://blog.test/posts/{t}/{query}</link>'
            f"<title>Post &#8470; {t} &amp; more</title><message/>"
            f"<createdAt>{_iso(T0)}</createdAt><author><name>Owner</name>"
            "<isAnonymous>false</isAnonymous></author><isClosed>false</isClosed>"
            "<isDeleted>false</isDeleted></thread>"
        )
        expected.trees[f"https://blog.test/posts/{t}/"] = []
    nodes: dict[int, tuple[Node, int]] = {}  # post id -> node, thread
    records: list[str] = []
    for i in range(1, posts + 1):
        thread = rng.randint(1, threads - 2)  # the last two threads stay empty
        same = [pid for pid, (_, th) in nodes.items() if th == thread]
        parent = rng.choice(same) if same and rng.random() < 0.55 else None
        roll = rng.random()
        status = "spam" if roll < 0.05 else "deleted" if roll < 0.1 else "approved"
        anonymous = rng.random() < 0.1
        raw_name = LONG_NAME if i == 7 else rng.choice(NAMES)
        html, text = _paragraphs(rng, i)
        created = T0 + i * 37_000
        node = Node(
            None if status == "deleted" else _shown_name(raw_name),
            "" if status == "deleted" else text,
            status,
            created,
        )
        nodes[2000 + i] = (node, thread)
        if parent is None:
            expected.trees[f"https://blog.test/posts/{thread}/"].append(node)
        else:
            nodes[parent][0].children.append(node)
        parent_xml = f'<parent dsq:id="{parent}"/>' if parent else ""
        records.append(
            f'  <post dsq:id="{2000 + i}"><id/><message><![CDATA[{html}]]></message>'
            f"<createdAt>{_iso(created)}</createdAt>"
            f"<isDeleted>{str(status == 'deleted').lower()}</isDeleted>"
            f"<isSpam>{str(status == 'spam').lower()}</isSpam>"
            f"<author><email>a{i}@mail.test</email><name>{escape(raw_name)}</name>"
            f"<isAnonymous>{str(anonymous).lower()}</isAnonymous>"
            f"{'' if anonymous else f'<username>user{i}</username>'}</author>"
            f'<ipAddress>10.0.0.{i % 250}</ipAddress><thread dsq:id="{1000 + thread}"/>'
            f"{parent_xml}</post>"
        )
    # Disqus lists posts by id, but an edited export can move them: replies may come first.
    rng.shuffle(records)
    out.extend(records)
    out.append("</disqus>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return expected.hold_under_hidden_threads()


WXR_STATUS = {
    "1": "approved",
    "0": "pending",
    "spam": "spam",
    "trash": "rejected",
    "post-trashed": "rejected",
}


def wxr_export(path: Path, seed: int = 5) -> tuple[Expected, int]:
    """A WordPress WXR 1.2 export: posts and a page with nested comments in every status,
    pingbacks and a shop's order notes (not comments), and an attachment item without any.
    The page is linked by WordPress's plain permalink (``?page_id=``), which keys it. Returns
    the trees and the number of pingbacks."""
    rng = random.Random(seed)
    expected = Expected()
    items, comment_id, pingbacks = [], 0, 0
    for post in range(1, 6):
        link = (
            f"https://wp.test/{2019 + post}/01/hello-{post}/"
            if post != 5
            else "https://wp.test/?page_id=15"
        )
        expected.trees[link] = []
        mine: list[tuple[int, Node]] = []
        comments = []
        for _ in range(rng.randint(6, 14)):
            comment_id += 1
            parent = rng.choice(mine)[0] if mine and rng.random() < 0.5 else 0
            approved = rng.choice(["1"] * 6 + ["0", "spam", "trash", "post-trashed"])
            created = T0 + comment_id * 61_000
            name = rng.choice(NAMES)
            text = f"WordPress comment {comment_id} & <i>friends</i>\nsecond line"
            node = Node(
                _shown_name(name),
                text.replace("<i>", "").replace("</i>", ""),
                WXR_STATUS[approved],
                created,
            )
            if parent:
                dict(mine)[parent].children.append(node)
            else:
                expected.trees[link].append(node)
            mine.append((comment_id, node))
            stamp = datetime.fromtimestamp(created / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
            comments.append(
                f"<wp:comment><wp:comment_id>{comment_id}</wp:comment_id>"
                f"<wp:comment_author><![CDATA[{name}]]></wp:comment_author>"
                f"<wp:comment_author_email><![CDATA[c{comment_id}@mail.test]]>"
                f"</wp:comment_author_email><wp:comment_author_url>https://x.test/"
                f"</wp:comment_author_url><wp:comment_author_IP><![CDATA[10.1.1.1]]>"
                f"</wp:comment_author_IP><wp:comment_date><![CDATA[2001-01-01 00:00:00]]>"
                f"</wp:comment_date><wp:comment_date_gmt><![CDATA[{stamp}]]>"
                f"</wp:comment_date_gmt><wp:comment_content><![CDATA[{text}]]>"
                f"</wp:comment_content><wp:comment_approved><![CDATA[{approved}]]>"
                f"</wp:comment_approved><wp:comment_type><![CDATA[comment]]>"
                f"</wp:comment_type><wp:comment_parent>{parent}</wp:comment_parent>"
                f"<wp:comment_user_id>0</wp:comment_user_id></wp:comment>"
            )
        if post % 2:
            pingbacks += 1
            comment_id += 1
            comments.append(
                f"<wp:comment><wp:comment_id>{comment_id}</wp:comment_id>"
                "<wp:comment_author><![CDATA[Other blog]]></wp:comment_author>"
                "<wp:comment_date_gmt>2020-01-01 00:00:00</wp:comment_date_gmt>"
                "<wp:comment_content><![CDATA[[...] linked here [...]]]></wp:comment_content>"
                "<wp:comment_approved>1</wp:comment_approved>"
                "<wp:comment_type><![CDATA[pingback]]></wp:comment_type>"
                "<wp:comment_parent>0</wp:comment_parent></wp:comment>"
            )
        comments.append(
            f"<wp:comment><wp:comment_id>{9000 + post}</wp:comment_id>"
            "<wp:comment_author><![CDATA[WooCommerce]]></wp:comment_author>"
            "<wp:comment_date_gmt>2020-01-01 00:00:00</wp:comment_date_gmt>"
            "<wp:comment_content><![CDATA[Order status changed.]]></wp:comment_content>"
            "<wp:comment_approved>1</wp:comment_approved>"
            "<wp:comment_type><![CDATA[order_note]]></wp:comment_type>"
            "<wp:comment_parent>0</wp:comment_parent></wp:comment>"
        )
        items.append(
            f"<item><title>Hello &amp; welcome {post}</title><link>{link}</link>"
            f"<pubDate>Mon, 01 Jan 2020 00:00:00 +0000</pubDate>"
            f"<dc:creator><![CDATA[admin]]></dc:creator>"
            f"<content:encoded><![CDATA[<p>Post body</p>]]></content:encoded>"
            f"<wp:post_id>{10 + post}</wp:post_id>"
            f"<wp:post_type><![CDATA[{'page' if post == 5 else 'post'}]]></wp:post_type>"
            f"<wp:status><![CDATA[publish]]></wp:status>{''.join(comments)}</item>"
        )
    items.append(
        "<item><title>logo.png</title><link>https://wp.test/logo/</link>"
        "<wp:post_id>99</wp:post_id><wp:post_type><![CDATA[attachment]]>"
        "</wp:post_type></item>"
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
        "<title>WP blog</title><link>https://wp.test</link><wp:wxr_version>1.2</wp:wxr_version>"
        "<wp:base_site_url>https://wp.test</wp:base_site_url>\n"
        + "\n".join(items)
        + "\n</channel>\n</rss>\n",
        encoding="utf-8",
    )
    return expected.hold_under_hidden_threads(), pingbacks


ISSO_SCHEMA = """
CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
    text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,
    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
    notification INTEGER DEFAULT 0);
"""
ISSO_MODES = {1: "approved", 2: "pending", 4: "deleted"}


def isso_database(path: Path, seed: int = 9) -> tuple[Expected, dict[int, int]]:
    """An Isso database with Isso's own schema: threads keyed by path, one level of replies
    (Isso flattens deeper ones), pending and deleted comments, edits. Returns the trees and
    the edited comments' ``modified`` times (ms) by creation time."""
    rng = random.Random(seed)
    expected = Expected()
    edited: dict[int, int] = {}
    db = sqlite3.connect(path)
    db.executescript(ISSO_SCHEMA)
    cid = 0
    for tid in range(1, 5):
        uri = f"/notes/{tid}/"
        db.execute("INSERT INTO threads VALUES (?, ?, ?)", (tid, uri, f"Note {tid}"))
        expected.trees[f"https://isso.test{uri}"] = []
        tops: list[tuple[int, Node]] = []
        for _ in range(rng.randint(5, 12)):
            cid += 1
            parent = rng.choice(tops)[0] if tops and rng.random() < 0.5 else None
            mode = rng.choice([1, 1, 1, 1, 2, 4])
            created = T0 / 1000 + cid * 53.25
            modified = created + 30.5 if cid % 4 == 0 else None
            author = rng.choice([*NAMES, None])
            text = f"*Markdown* stays as written, {cid}\n\n> quoted"
            node = Node(
                None if mode == 4 else _shown_name(author),
                "" if mode == 4 else text,
                ISSO_MODES[mode],
                round(created * 1000),
            )
            if modified is not None:
                edited[node.created_at] = round(modified * 1000)
            if parent is None:
                expected.trees[f"https://isso.test{uri}"].append(node)
                tops.append((cid, node))
            else:
                dict(tops)[parent].children.append(node)
            db.execute(
                "INSERT INTO comments (tid, id, parent, created, modified, mode, "
                "remote_addr, text, author, email, website, voters) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tid,
                    cid,
                    parent,
                    created,
                    modified,
                    mode,
                    "10.0.0.0",
                    text,
                    author,
                    None,
                    None,
                    b"",
                ),
            )
    db.commit()
    db.close()
    return expected.hold_under_hidden_threads(), edited
