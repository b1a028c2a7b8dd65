"""Settings from the environment (or `.env`); every default works with nothing configured."""

from __future__ import annotations

import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default="", description="SQLAlchemy async URL; empty: SQLite in ./data/")
    redis_url: str = Field(default="", description="empty: `waybill dev` starts an embedded Redis")
    secret_key: str = Field(default="", description="encrypts credentials; empty: kept in ./data/")
    admin_token: str = ""
    metrics_token: str = Field(default="", description="a bearer token for /metrics only (Prometheus)")
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = DATA_DIR

    dispatch_mode: Literal["immediate", "batch"] = "immediate"
    batch_interval_s: float = 60.0
    batch_size: int = Field(default=100, ge=1)
    concurrency: int = Field(default=20, ge=1)
    sweep_interval_s: float = 10.0
    lease_s: float = Field(default=30.0, gt=0, description="an activation's hold on an order, "
                           "renewed every third of it while a step runs")
    job_timeout_s: float = 3600.0
    poll_delay_s: float = Field(default=5.0, gt=0, description="the longest an idle worker waits "
                                "between polls (new and deferred jobs wake it on time)")
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    worker_metrics_port: int = Field(default=0, description="a worker's /metrics port (0: off)")

    outbound_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = 1_000_000
    max_response_bytes: int = 1_000_000
    stored_response_bytes: int = 16_384
    function_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    load_examples: bool = True
    demo_services: bool = Field(default=False, description="serve the demo services at /demo")
    demo_url: str = Field(default="", description="set as `variables.demo_url` at start")

    @field_validator("outbound_allow", "function_modules", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'waybill.db').resolve()}"

    @property
    def resolved_secret_key(self) -> str:
        """The configured key, else one generated once into the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async driver."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain):]
    return url


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
