"""Every ``THREADLINE_*`` variable: its default, its help and its bounds."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.broker.targets import BrokerUrlError, parse_target
from server.settings.secret_file import local_secret, secret_path
from server.settings.values import SettingsError, database_url_problem, parse_value, shown

# Where a setting's value came from, as `threadline settings` says it.
ENVIRONMENT, DEFAULT, GENERATED = "environment", "default", "generated"


def _setting(default: Any, env: str, help: str, **kw: Any) -> Any:
    return field(default=default, metadata={"env": env, "help": help, **kw})


@dataclass(frozen=True)
class Settings:
    """Threadline's configuration. Build it with :meth:`from_env`, or directly in tests."""

    env: str = _setting(
        "development",
        "THREADLINE_ENV",
        "`development`, `production` or `test`. Production requires a secret "
        "key and marks cookies `Secure`.",
        choices=("development", "production", "test"),
    )
    database_url: str = _setting(
        "",
        "THREADLINE_DATABASE_URL",
        "`sqlite:///PATH` (embedded default) or `postgresql://USER@HOST:PORT/DB` (scale-out).",
        shown="sqlite:///DATA_DIR/threadline.db",
    )
    redis_url: str | None = _setting(
        None,
        "THREADLINE_REDIS_URL",
        "`redis://HOST:PORT/DB` (`rediss://` for TLS), "
        "`redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]` (the master Sentinel "
        "names, followed through failovers), or `redis+cluster://HOST:PORT[,HOST:PORT...]` "
        "(a Redis Cluster, 7+: sharded pub/sub, each page on the shard owning its slot); "
        "`rediss+...` for TLS. Unset: one process, in-memory broker. Set: events fan out "
        "across processes.",
    )
    secret_key: str = _setting(
        "",
        "THREADLINE_SECRET_KEY",
        "Signs sessions, CSRF tokens and cursors; at least 32 characters. "
        "Unset outside production: generated once into the data "
        "directory.",
        hidden=True,
    )
    data_dir: str = _setting(
        "./data",
        "THREADLINE_DATA_DIR",
        "Where the generated secret key lives, and the SQLite file "
        "unless `THREADLINE_DATABASE_URL` names another.",
    )
    edit_window: int = _setting(
        900,
        "THREADLINE_EDIT_WINDOW",
        "Seconds an author may edit or delete their own comment.",
        min=0,
    )
    page_size: int = _setting(
        20,
        "THREADLINE_PAGE_SIZE",
        "Top-level comments per page (`Load More Comments`).",
        min=1,
        max=100,
    )
    reply_page_size: int = _setting(
        3,
        "THREADLINE_REPLY_PAGE_SIZE",
        "Replies shown per comment before `Load More Replies`.",
        min=1,
        max=100,
    )
    rate_limit: int = _setting(
        10,
        "THREADLINE_RATE_LIMIT",
        "Comments per minute per client IP; `0` turns the limit off.",
        min=0,
    )
    page_rate_limit: int = _setting(
        60,
        "THREADLINE_PAGE_RATE_LIMIT",
        "Comments per minute on one page from everyone together; `0` turns it off.",
        min=0,
    )
    min_submit_ms: int = _setting(
        3000,
        "THREADLINE_MIN_SUBMIT_MS",
        "A comment sent sooner than this after its form loaded is "
        "held for review (bots are fast), as is one without a valid "
        "`form_token` from the thread listing; `0` turns it off.",
        min=0,
    )
    trusted_proxies: tuple[str, ...] = _setting(
        (),
        "THREADLINE_TRUSTED_PROXIES",
        "Comma-separated IPs or CIDR ranges of proxies whose `X-Forwarded-For` is honoured.",
    )
    ws_max_per_ip: int = _setting(
        20, "THREADLINE_WS_MAX_PER_IP", "Open websockets one client IP may hold per process.", min=1
    )
    http_max_per_ip: int = _setting(
        256,
        "THREADLINE_HTTP_MAX_PER_IP",
        "Open HTTP connections one client IP (IPv6: one /64) may "
        "hold per process; more are answered 429 and closed. A "
        "browser opens at most 6 per host, but many readers can "
        "share one address (carrier-grade NAT, offices, schools), "
        "so it is generous. Connections from "
        "`THREADLINE_TRUSTED_PROXIES` are not counted.",
        min=1,
    )
    ws_queue_bytes: int = _setting(
        262144,
        "THREADLINE_WS_QUEUE_BYTES",
        "Bytes queued for one slow websocket before it is dropped.",
        min=4096,
    )
    public_url: str | None = _setting(
        None,
        "THREADLINE_PUBLIC_URL",
        "This server's address as readers reach it, e.g. "
        "`https://comments.example.com`; used for links in "
        "notifications, and needed for password reset links.",
    )
    smtp_url: str | None = _setting(
        None,
        "THREADLINE_SMTP_URL",
        "`smtp://USER:PASS@HOST:587` (STARTTLS, required unless the host is this machine) "
        "or `smtps://...:465`; certificates are checked. For every e-mail Threadline sends. "
        "Unset: no e-mail.",
    )
    smtp_from: str = _setting(
        "threadline@localhost", "THREADLINE_SMTP_FROM", "Sender address of notification e-mails."
    )
    mail_digest_seconds: int = _setting(
        600,
        "THREADLINE_MAIL_DIGEST_SECONDS",
        "At most one e-mail per subscription this often: the first "
        "reply goes at once, the ones after it within this time go "
        "together as one digest when it ends.",
        min=0,
    )
    mail_daily_cap: int = _setting(
        500,
        "THREADLINE_MAIL_DAILY_CAP",
        "E-mails to readers (confirmations, replies, digests) one "
        "site may send per UTC day; the rest wait for the next day.",
        min=0,
    )
    notifications: bool = _setting(
        True,
        "THREADLINE_NOTIFICATIONS",
        "`0` turns readers' notifications off: nothing new in anyone's bell, no reply "
        "e-mail, subscribing answers `mail_off` (moderators' e-mail and webhooks stay).",
    )
    webhook_private: bool = _setting(
        False,
        "THREADLINE_WEBHOOK_PRIVATE",
        "`1` lets site webhooks target private and loopback "
        "addresses (off: an owner cannot probe your network).",
    )
    log_level: str = _setting(
        "info",
        "THREADLINE_LOG_LEVEL",
        "`debug`, `info`, `warning` or `error`.",
        choices=("debug", "info", "warning", "error"),
    )
    log_format: str = _setting(
        "json",
        "THREADLINE_LOG_FORMAT",
        "`json` (one object per line, with `request_id`) or `text` "
        "(human-readable, for a terminal).",
        choices=("json", "text"),
    )
    access_log: bool = _setting(
        False,
        "THREADLINE_ACCESS_LOG",
        "`1` logs every HTTP request (method, route template, status, "
        "ms) and websocket handshake (route, status); never a client "
        "address or a query string.",
    )
    metrics_token: str | None = _setting(
        None,
        "THREADLINE_METRICS_TOKEN",
        "Bearer token that `/metrics` (Prometheus) requires; "
        "at least 16 characters. Unset: `/metrics` is off.",
        hidden=True,
    )
    request_timeout: int = _setting(
        30,
        "THREADLINE_REQUEST_TIMEOUT",
        "Seconds a client may take to send one request, headers "
        "and body; slower ones (slowloris) are disconnected.",
        min=1,
        max=3600,
    )
    host: str = _setting("127.0.0.1", "HOST", "Address `threadline serve` binds.")
    port: int = _setting(8000, "PORT", "Port `threadline serve` binds.", min=1, max=65535)
    workers: int = _setting(
        1, "WEB_CONCURRENCY", "Server processes `threadline serve` starts.", min=1, max=64
    )
    # Not from the environment: tests shorten these (argon2 cost, clock) without monkeypatching.
    password_profile: str = field(default="default", metadata={"env": None})
    # Each variable's origin (ENVIRONMENT, DEFAULT, GENERATED), filled by from_env.
    sources: Mapping[str, str] = field(
        default_factory=dict, compare=False, repr=False, metadata={"env": None}
    )

    def __post_init__(self) -> None:
        if not self.database_url:
            # The embedded default follows the data directory.
            path = self.data_dir.rstrip("/") or "/"
            object.__setattr__(self, "database_url", f"sqlite:///{path}/threadline.db")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, generate_secret: bool = True) -> Settings:
        """Read every setting, reporting all bad variables in one :class:`SettingsError`.
        Without a secret key, the data directory's is used, generated there if
        ``generate_secret`` (else left empty)."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        sources: dict[str, str] = {}
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env")
            if not name:
                continue
            if name not in environ:
                sources[name] = DEFAULT
                continue
            sources[name] = ENVIRONMENT
            raw = environ[name].strip()
            try:
                values[f.name] = parse_value(f, raw)
            except ValueError as exc:
                problems.append(f"{name}={raw!r}: {exc}")
        settings = cls(**values, sources=sources)
        problems.extend(settings._problems(environ))
        if problems:
            raise SettingsError("; ".join(problems))
        if not settings.secret_key:
            sources["THREADLINE_SECRET_KEY"] = GENERATED
            settings = dataclasses.replace(
                settings, secret_key=local_secret(settings.data_dir, create=generate_secret)
            )
        return settings

    def effective(self) -> list[tuple[str, str, str]]:
        """(variable, value as shown, where it came from) for every environment setting;
        secrets are hidden and URLs lose their passwords."""
        rows = []
        for f in dataclasses.fields(self):
            name = f.metadata.get("env")
            if not name:
                continue
            value, source = getattr(self, f.name), self.sources.get(name, DEFAULT)
            if source == GENERATED:
                where = secret_path(self.data_dir)
                source = (
                    f"generated, kept in {where}"
                    if value
                    else f"generated into {where} by the first command that needs it"
                )
            rows.append((name, shown(value, hidden=f.metadata.get("hidden", False)), source))
        return rows

    def _problems(self, environ: Mapping[str, str]) -> list[str]:
        problems = []
        database = database_url_problem(self.database_url)
        if database:
            problems.append(f"THREADLINE_DATABASE_URL: {database}")
        if self.redis_url:
            try:
                parse_target(self.redis_url)
            except BrokerUrlError as exc:
                problems.append(f"THREADLINE_REDIS_URL: {exc}")
        if self.smtp_url and not self.smtp_url.startswith(("smtp://", "smtps://")):
            problems.append("THREADLINE_SMTP_URL: expected smtp://HOST:PORT or smtps://...")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            problems.append("THREADLINE_PUBLIC_URL: expected http(s)://HOST")
        if self.secret_key and len(self.secret_key) < 32:
            problems.append("THREADLINE_SECRET_KEY: expected at least 32 characters")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            problems.append("THREADLINE_METRICS_TOKEN: expected at least 16 characters")
        if self.production and not self.secret_key:
            problems.append("THREADLINE_SECRET_KEY: required when THREADLINE_ENV=production")
        return problems

    @classmethod
    def documented(cls) -> list[tuple[str, str, str]]:
        """(variable, default, help) for every environment setting, for docs and `--help`."""
        rows = []
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env")
            if name:
                default = f.metadata.get("shown", f.default)
                shown = ",".join(default) if isinstance(default, tuple) else default
                rows.append((name, "" if shown is None else str(shown), f.metadata["help"]))
        return rows
