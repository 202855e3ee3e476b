"""The one settings model: defaults < TOML file < ROUNDHOUSE_* environment.

A bad value stops start-up with one sentence naming the setting, the value, what was expected
and how to fix it (SettingsError), never a traceback or a timeout later.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as SourceError

ENV_PREFIX = "ROUNDHOUSE_"
TOML_CANDIDATES = (Path("roundhouse.toml"), Path("/etc/roundhouse/roundhouse.toml"))
WORKER_DEFAULTS_FILE = Path("/etc/default/roundhouse-worker")


class SettingsError(Exception):
    """A setting is wrong; the message is the one sentence shown to the operator."""


class QueueRule(BaseModel):
    """One routing rule: every given field must match the job's config; first match wins."""

    queue: str
    dist: str | None = None
    os: str | None = None
    arch: str | None = None
    language: str | None = None
    services: str | None = None
    slug: str | None = None
    owner: str | None = None
    group: str | None = None
    queue_key: str | None = None


class OAuthApp(BaseModel):
    """An OAuth application registered on a forge for signing in to Roundhouse."""

    model_config = {"extra": "forbid"}

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    url: str = ""  # default: github.com, gitlab.com; Gitea has none
    api_url: str = ""  # default: derived from url as the forge documents it
    callback_url: str = ""
    # The scopes asked for at login; default: what the code-host sync needs (docs/forges.md).
    scope: str | None = None

    @field_validator("url", "api_url", "callback_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL")
        return value.rstrip("/")


class Settings(BaseSettings):
    """Every setting of the platform and the worker; see docs/operations.md."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, case_sensitive=False
    )

    data_dir: Path = Path(".roundhouse")
    database_url: str = ""
    broker_url: str = "memory://"
    public_url: str = ""
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(8080, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # "json": every process logs one JSON object per line (for a log collector).
    log_format: Literal["text", "json"] = "text"
    # HTTPS served by the platform itself: a PEM certificate (with its chain) and its key.
    # Checked at start (webserver.py); without them, put a TLS-terminating proxy in front.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    default_dist: str = "focal"
    default_queue: str = "builds.default"
    queue_rules: list[QueueRule] = Field(default_factory=list)
    hard_timeout: int = Field(50 * 60, gt=0)
    log_timeout: int = Field(10 * 60, gt=0)
    max_log_bytes: int = Field(64 * 1024 * 1024, gt=0)
    poll_interval: float = Field(60.0, gt=0)
    max_config_bytes: int = Field(1024 * 1024, gt=0)

    # The instance key that encrypts secrets at rest (platform/secrets.py): a Fernet key, or
    # the file holding one (default <data_dir>/encryption.key, created on the first start).
    encryption_key: SecretStr = SecretStr("")
    encryption_key_file: Path | None = None
    # Bits of a new repository RSA key for `secure:` values; Travis uses 4096.
    repository_key_bits: int = Field(4096, ge=2048, le=16384)

    # Browser sessions (signed cookies) last this many seconds after signing in.
    session_max_age: int = Field(14 * 24 * 3600, gt=0)
    # OAuth login per forge ("github", "gitea", "gitlab"): client_id, client_secret, url
    # (the forge's web address, e.g. a GitHub Enterprise host) and the registered
    # callback_url, which must be <public_url>/auth/<forge>/callback (docs/forges.md).
    oauth: dict[Literal["github", "gitea", "gitlab"], OAuthApp] = Field(default_factory=dict)
    # The code-host sync of each user with a forge login (docs/forges.md, section 8): every
    # sync_interval seconds (0: only at login and when asked), holding a lease of sync_lease
    # seconds that it renews while it runs.
    sync_interval: float = Field(24 * 3600.0, ge=0)
    sync_lease: float = Field(600.0, ge=1)

    # webhooks: the largest body a hook may send (413 beyond), and how commit statuses are
    # retried: attempts in all, the first pause in seconds (doubled after each attempt).
    webhook_max_bytes: int = Field(5 * 1024 * 1024, gt=0)
    status_attempts: int = Field(4, ge=1, le=10)
    status_backoff: float = Field(1.0, ge=0)

    # notifications (docs/operations.md, "Notifications"): the SMTP server email goes through
    # (none: no email), and how deliveries are retried: attempts in all, the first pause in
    # seconds (doubled after each attempt), the time one attempt may take.
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""
    smtp_starttls: bool = True
    notify_attempts: int = Field(4, ge=1, le=10)
    notify_backoff: float = Field(5.0, ge=0)
    notify_timeout: float = Field(10.0, gt=0)
    # Where `account:token#channel` Slack rooms post ({account} is replaced).
    slack_url: str = "https://{account}.slack.com/services/hooks/incoming-webhook"
    # How often cron builds are looked for (seconds).
    cron_interval: float = Field(60.0, gt=0)

    # build cache: archives of cached directories under data_dir/cache (platform/cache.py).
    # Past cache_max_bytes in all, the least recently used go; unused ones expire.
    cache_max_bytes: int = Field(5 * 1024**3, gt=0)
    cache_max_age_days: int = Field(28, gt=0)
    # scheduling and recovery (docs/operations.md, "Several machines")
    # Jobs one owner (the part of the slug before "/") may have queued or running at once;
    # 0: no limit. owner_limits overrides it per owner: {"team" = 10}.
    owner_concurrency: int = Field(0, ge=0)
    owner_limits: dict[str, int] = Field(default_factory=dict)
    # A job whose worker renewed its lease (by heartbeat) this long ago runs again elsewhere.
    worker_lost_after: float = Field(30.0, gt=0)
    reconcile_interval: float = Field(5.0, gt=0)

    platform_url: str = "http://127.0.0.1:8080"
    token: str = ""
    name: str = ""
    # NoDecode: ROUNDHOUSE_QUEUES=a,b is a comma list, not JSON (see _split_queues).
    queues: Annotated[list[str], NoDecode] = Field(default_factory=list)
    pool_size: int = Field(2, ge=1, le=256)
    backend: Literal["local", "bwrap", "docker"] = "local"
    images: dict[str, str] = Field(default_factory=lambda: {"host": "host"})
    work_dir: Path = Path("")
    heartbeat_interval: float = Field(10.0, gt=0)
    # Log parts and state events wait here while the broker is unreachable; past this many
    # MiB in memory they are written to <work_dir>/outbox, and sent in order when it is back.
    outbox_memory_mb: int = Field(16, ge=1)

    # sandbox limits (bwrap/docker backends)
    # Memory of one job, tmpfs files included; a job that goes over it is errored.
    sandbox_memory_mb: int = Field(4096, ge=64)
    sandbox_cpus: float = Field(2.0, gt=0)  # CPU time of one job, in whole CPUs
    sandbox_pids: int = Field(1024, ge=16)  # processes and threads of one job
    # Whether jobs reach the network; a job payload with "network" overrides it.
    sandbox_network: bool = False
    # A PEM file of CA certificates every job trusts besides its image's own (all backends):
    # for a git server, mirror or proxy whose certificate an in-house CA signed.
    ca_bundle_file: Path | None = None
    # The unprivileged host uid and gid jobs run as; no real account should use them.
    sandbox_uid: int = Field(2000, ge=1)
    sandbox_gid: int = Field(2000, ge=1)

    # docker backend
    # The Docker Engine API to run job containers with: Docker's socket, or podman's
    # (`podman system service`), e.g. unix:///run/podman/podman.sock.
    docker_url: str = "unix:///var/run/docker.sock"
    # The network of jobs that may use the network; the others get none ("none").
    docker_network: str = "bridge"
    # Privileged containers (like Travis's TRAVIS_WORKER_DOCKER_PRIVILEGED): a job is then
    # root on the host in all but name. Only for trusted repositories.
    docker_privileged: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if not value.startswith(("memory://", "amqp://", "amqps://")):
            raise ValueError("memory:// or an amqp://user:password@host:5672/ URL")
        return value

    @field_validator("public_url", "platform_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("queues", mode="before")
    @classmethod
    def _split_queues(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [q.strip() for q in value.split(",") if q.strip()]
        return value

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'roundhouse.db').resolve()}"
        if not self.public_url:
            scheme = "https" if self.tls_cert_file else "http"
            self.public_url = f"{scheme}://{self.listen_host}:{self.listen_port}"
        if not self.queues:
            self.queues = [self.default_queue]
        if not self.name:
            self.name = os.uname().nodename
        if self.work_dir == Path(""):
            self.work_dir = self.data_dir / "work"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML path comes from model_config, set per load() on a subclass.
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def find_toml(explicit: Path | None) -> Path | None:
    """The TOML file to read: --config if given (must exist), else the first candidate found."""
    if explicit is not None:
        if not explicit.is_file():
            raise SettingsError(
                f"The settings file {explicit} given with --config does not exist; "
                "pass the path of an existing TOML file."
            )
        return explicit
    return next((p for p in TOML_CANDIDATES if p.is_file()), None)


def read_defaults_file(path: Path) -> dict[str, str]:
    """KEY=value lines (``export`` allowed, # comments) as in /etc/default files."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load(config: Path | None = None, *, worker: bool = False, **overrides: Any) -> Settings:
    """Load and validate settings, or raise SettingsError with the sentence to show."""
    toml_file = find_toml(config)
    if worker and WORKER_DEFAULTS_FILE.is_file():
        for key, value in read_defaults_file(WORKER_DEFAULTS_FILE).items():
            name = key if key.startswith(ENV_PREFIX) else ENV_PREFIX + key
            os.environ.setdefault(name.upper(), value)
    model = type(
        "Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": toml_file}}
    )
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = model(**given)
        check_oauth_callbacks(settings)
        return settings
    except ValidationError as error:
        raise SettingsError(explain(error, toml_file, set(given))) from None
    except SourceError as error:  # a structured ROUNDHOUSE_* value that is not JSON
        raise SettingsError(explain_undecodable(str(error))) from None
    except (OSError, ValueError) as error:  # unreadable or malformed TOML
        raise SettingsError(
            f"The settings file {toml_file} cannot be read ({error}); fix its TOML syntax."
        ) from None


def oauth_callback(settings: Settings, forge: str) -> str:
    """The callback URL the forge's OAuth application must have registered."""
    return f"{settings.public_url}/auth/{forge}/callback"


def check_oauth_callbacks(settings: Settings) -> None:
    """A forge sends people back to the callback URL it has registered; one that is not this
    platform's would fail every login after the forge's consent page, so refuse to start."""
    for forge, oauth_app in sorted(settings.oauth.items()):
        expected = oauth_callback(settings, forge)
        if forge == "gitea" and not oauth_app.url:
            raise SettingsError(
                "Setting oauth.gitea.url is missing: Gitea has no default address; set it to "
                "the Gitea server's web address, such as https://gitea.example.com."
            )
        if not oauth_app.callback_url:
            raise SettingsError(
                f"Setting oauth.{forge}.callback_url is missing: register {expected} as the "
                f"callback URL of the {forge} OAuth application and set "
                f"oauth.{forge}.callback_url to it."
            )
        if oauth_app.callback_url != expected:
            raise SettingsError(
                f"Setting oauth.{forge}.callback_url = {oauth_app.callback_url!r} does not "
                f"match public_url {settings.public_url!r}: register {expected} as the "
                f"callback URL of the {forge} OAuth application and set "
                f"oauth.{forge}.callback_url to it (or fix public_url)."
            )


def explain_undecodable(message: str) -> str:
    """pydantic-settings says 'error parsing value for field "images" from source ...'."""
    found = re.search(r'field "([^"]+)"', message)
    name = found.group(1) if found else "a setting"
    env_name = ENV_PREFIX + name.upper()
    return (
        f"Setting {name} = {os.environ.get(env_name, '')!r} (from ${env_name}) is not valid: "
        f'expected JSON, such as {env_name}=\'{{"key": "value"}}\'. Fix the variable\'s value.'
    )


def explain(error: ValidationError, toml_file: Path | None, given: Collection[str] = ()) -> str:
    """One sentence for the first problem: setting, value, expectation, fix."""
    first = error.errors()[0]
    loc = first["loc"]
    name = str(loc[0]) if loc else "settings"
    path = name + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
    env_name = ENV_PREFIX + name.upper()
    if name in given:
        where = "the command line"
    elif env_name in os.environ:
        where = f"${env_name}"
    else:
        where = str(toml_file) if toml_file else ""
    if first["type"] == "extra_forbidden" and len(loc) == 1:
        known = list(Settings.model_fields)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"Unknown setting {name!r} in {where or 'the settings'}.{hint} "
            f"Remove it or use one of the settings listed in docs/operations.md."
        )
    source = f" (from {where})" if where else ""
    if first["type"] == "missing":
        return (
            f"Setting {path} is missing{source}: every entry of {name} needs `{loc[-1]}`. "
            f"Add it in the settings file."
        )
    value = first.get("input")
    # pydantic says "Input should be a valid integer, unable to parse ..."; keep the expectation.
    expected = first["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    expected = expected.split(", unable")[0]
    if name in given:  # typed on the command line: show it as typed
        return f"Setting {path} = {value}{source} is not valid: expected {expected}."
    return (
        f"Setting {path} = {value!r}{source} is not valid: expected {expected}. "
        f"Fix it in the settings file or with {env_name}=<value>."
    )
