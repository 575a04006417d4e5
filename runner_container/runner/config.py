"""The runner's knobs, read once from the settings (``RunnerConfig.from_settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.settings import Settings


@dataclass(frozen=True)
class RunnerConfig:
    screenshots: Literal["every_step", "on_failure", "off"] = "every_step"
    record_video: bool = True
    record_trace: bool = True
    step_timeout_s: float = 10.0
    network_allowlist: str = ""
    network_refused_local_ports: str = ""
    heartbeat_s: float = 20.0
    #: the retry backoff's base and cap (seconds): the run service computes each delay from them
    #: (exponential with jitter, ``shared.services.runs.retry_delay_s``)
    retry_delay_s: float = 2
    retry_delay_cap_s: float = 300
    upload_attempts: int = 3
    upload_backoff_s: float = 0.5
    viewport: tuple[int, int] = (1280, 720)
    #: what heals a target that no longer resolves ("off": nothing; the step fails)
    healer: Literal["fuzzy", "bedrock", "off"] = "fuzzy"
    element_cache_ttl_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> RunnerConfig:
        return cls(
            screenshots=settings.screenshots,
            record_video=settings.record_video,
            record_trace=settings.record_trace,
            step_timeout_s=settings.step_timeout_s,
            network_allowlist=settings.network_allowlist,
            network_refused_local_ports=settings.network_refused_local_ports,
            heartbeat_s=settings.heartbeat_s,
            healer=settings.healer,
            element_cache_ttl_days=settings.element_cache_ttl_days,
        )
