"""Every setting of the service, read from the environment in one place.

``settings()`` answers one frozen ``Settings`` per process, read on first use
(on Lambda: at cold start, from the stage's variables). Code that takes an
explicit environment (tests, the bootstrap banner) builds its own with
``Settings.from_env(environ)``. The table of variables, defaults and what
each deployed stage sets is docs/configuration.md (a test keeps it complete).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from chalicelib.lazy import Lazy

REPO_MODELS = Path(__file__).resolve().parents[1] / "models"

BOOTSTRAP_VARIABLES = ("FRS_BOOTSTRAP_PROJECT_ID", "FRS_BOOTSTRAP_PROJECT_NAME",
                       "FRS_BOOTSTRAP_DOMAIN", "FRS_BOOTSTRAP_USER", "FRS_BOOTSTRAP_PASSWORD",
                       "FRS_BOOTSTRAP_AK", "FRS_BOOTSTRAP_SK")


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    return default if raw in (None, "") else int(str(raw))


def _optional_int(env: Mapping[str, str], key: str) -> int | None:
    raw = env.get(key)
    return None if raw in (None, "") else int(str(raw))


def _list(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in (env.get(key) or "").split(",") if p.strip())


@dataclass(frozen=True)
class OpenSearchConfig:
    url: str | None = None              # OPENSEARCH_URL: self-managed node(s), comma-separated
    endpoint: str | None = None         # FRS_OPENSEARCH_ENDPOINT: Amazon OpenSearch Service
    region: str | None = None           # AWS_REGION / AWS_DEFAULT_REGION, for SigV4
    service: str = "es"
    timeout: float = 30.0
    prefix: str = "openfrs"
    engine: str = "lucene"
    space: str = "innerproduct"
    m: int | None = None
    ef_construction: int | None = None
    ef_search: int | None = None
    shards: int | None = None
    replicas: int | None = None
    dim: int | None = None
    refresh: str = "true"


@dataclass(frozen=True)
class Settings:
    # Service
    store: str = "embedded"
    data_dir: str = ".frs-data"
    model_dir: Path = REPO_MODELS
    ffmpeg_xz: str | None = None
    max_face_sets: int = 10
    max_body_bytes: int = 20 * 1024 * 1024
    # A face-set file restored in one request (POST /openfrs/v1/.../import): a
    # full 100,000-face SFace set is about 90 MB (docs/transfer.md).
    max_restore_bytes: int = 256 * 1024 * 1024
    port: str = "8000"
    on_lambda: bool = False
    # Execution backend of every ONNX session (chalicelib/inference)
    ort_threads: int = 0
    liveness_threads: int = 1
    ort_spin: bool = False
    ort_providers: tuple[str, ...] = ()
    # Object storage
    media_buckets: tuple[str, ...] = ()
    import_bucket: str = ""
    import_project_id: str = ""
    # Identity and limits
    auth: str = "iam"
    identity_backend: str = "sqlite"
    identity_ssm_prefix: str = "/openfrs/identity"
    identity_kms_key_id: str | None = None
    identity_cache_seconds: float = 30.0
    bootstrap: Mapping[str, str] = field(default_factory=dict)
    admin_password: str | None = None
    ratelimit: int = 0
    ratelimit_overrides: Mapping[str, int] = field(default_factory=dict)
    ratelimit_window: str = "hour"
    ratelimit_backend: str = "sqlite"
    ratelimit_table: str | None = None
    # Password guessing on POST /v3/auth/tokens (chalicelib/identity/lockout.py)
    login_max_failures: int = 10
    login_max_failures_per_source: int = 10
    login_window_seconds: int = 900
    opensearch: OpenSearchConfig = field(default_factory=OpenSearchConfig)
    # Logs, metrics, traces (chalicelib/observability.py)
    observability: bool = True
    service_name: str = "openfrs"
    log_level: str = "INFO"
    log_format: str = "text"            # "json" on Lambda
    metrics_namespace: str = "OpenFRS"
    tracing: bool = False               # on by default on Lambda only

    @property
    def auth_off(self) -> bool:
        return self.auth.lower() == "off"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        overrides = {}
        for item in _list(env, "FRS_RATELIMIT_OVERRIDES"):
            pid, _, n = item.partition("=")
            if pid.strip() and n.strip():
                overrides[pid.strip()] = int(n)
        return cls(
            store=env.get("FRS_STORE", "embedded"),
            data_dir=env.get("FRS_DATA_DIR", ".frs-data"),
            model_dir=Path(env.get("FRS_MODEL_DIR") or REPO_MODELS),
            ffmpeg_xz=env.get("FRS_FFMPEG_XZ") or None,
            max_face_sets=_int(env, "FRS_MAX_FACE_SETS", 10),
            max_body_bytes=_int(env, "FRS_MAX_BODY_BYTES", 20 * 1024 * 1024),
            max_restore_bytes=_int(env, "FRS_MAX_RESTORE_BYTES", 256 * 1024 * 1024),
            port=env.get("FRS_PORT", "8000"),
            on_lambda="AWS_LAMBDA_FUNCTION_NAME" in env,
            ort_threads=_int(env, "FRS_ORT_THREADS", 0),
            liveness_threads=_int(env, "FRS_LIVENESS_THREADS", 1) or 1,
            ort_spin=env.get("FRS_ORT_SPIN", "0") == "1",
            ort_providers=_list(env, "FRS_ORT_PROVIDERS"),
            media_buckets=_list(env, "FRS_MEDIA_BUCKETS"),
            import_bucket=env.get("FRS_IMPORT_BUCKET", ""),
            import_project_id=env.get("FRS_IMPORT_PROJECT_ID", ""),
            auth=env.get("FRS_AUTH", "iam"),
            identity_backend=env.get("FRS_IDENTITY_BACKEND", "sqlite"),
            identity_ssm_prefix=env.get("FRS_IDENTITY_SSM_PREFIX", "/openfrs/identity"),
            identity_kms_key_id=env.get("FRS_IDENTITY_KMS_KEY_ID") or None,
            identity_cache_seconds=float(env.get("FRS_IDENTITY_CACHE_SECONDS", "30")),
            bootstrap={k: env[k] for k in BOOTSTRAP_VARIABLES if env.get(k)},
            admin_password=env.get("FRS_ADMIN_PASSWORD") or None,
            ratelimit=_int(env, "FRS_RATELIMIT", 0),
            ratelimit_overrides=overrides,
            ratelimit_window=env.get("FRS_RATELIMIT_WINDOW", "hour"),
            ratelimit_backend=env.get("FRS_RATELIMIT_BACKEND", "sqlite"),
            ratelimit_table=env.get("FRS_RATELIMIT_TABLE") or None,
            login_max_failures=_int(env, "FRS_LOGIN_MAX_FAILURES", 10),
            login_max_failures_per_source=_int(env, "FRS_LOGIN_MAX_FAILURES_PER_SOURCE", 10),
            login_window_seconds=_int(env, "FRS_LOGIN_WINDOW_SECONDS", 900) or 900,
            observability=env.get("FRS_OBSERVABILITY", "on").lower() not in ("off", "0", "false"),
            service_name=env.get("FRS_SERVICE_NAME") or "openfrs",
            log_level=(env.get("FRS_LOG_LEVEL") or "INFO").upper(),
            log_format=(env.get("FRS_LOG_FORMAT")
                        or ("json" if "AWS_LAMBDA_FUNCTION_NAME" in env else "text")).lower(),
            metrics_namespace=env.get("FRS_METRICS_NAMESPACE") or "OpenFRS",
            tracing=(env.get("FRS_TRACING") or ("on" if "AWS_LAMBDA_FUNCTION_NAME" in env else "off")
                     ).lower() in ("on", "1", "true"),
            opensearch=OpenSearchConfig(
                url=env.get("OPENSEARCH_URL") or None,
                endpoint=env.get("FRS_OPENSEARCH_ENDPOINT") or None,
                region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
                service=env.get("FRS_OPENSEARCH_SERVICE", "es"),
                timeout=float(env.get("FRS_OPENSEARCH_TIMEOUT", "30")),
                prefix=env.get("FRS_OPENSEARCH_PREFIX", "openfrs").lower(),
                engine=env.get("FRS_OPENSEARCH_ENGINE", "lucene"),
                space=env.get("FRS_OPENSEARCH_SPACE", "innerproduct"),
                m=_optional_int(env, "FRS_OPENSEARCH_M"),
                ef_construction=_optional_int(env, "FRS_OPENSEARCH_EF_CONSTRUCTION"),
                ef_search=_optional_int(env, "FRS_OPENSEARCH_EF_SEARCH"),
                shards=_optional_int(env, "FRS_OPENSEARCH_SHARDS"),
                replicas=_optional_int(env, "FRS_OPENSEARCH_REPLICAS"),
                dim=_optional_int(env, "FRS_EMBEDDING_DIM"),
                refresh=env.get("FRS_OPENSEARCH_REFRESH", "true"),
            ),
        )


_settings: Lazy[Settings] = Lazy(Settings.from_env)


def settings() -> Settings:
    """The process's settings, read from ``os.environ`` on first use."""
    return _settings.get()


def reset() -> None:
    """Read the environment again on next use (tests change it)."""
    _settings.reset()
