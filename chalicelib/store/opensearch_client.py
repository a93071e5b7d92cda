"""Settings and client construction for the OpenSearch store, from the environment.

Two ways to reach a cluster:

* ``OPENSEARCH_URL`` (e.g. ``http://127.0.0.1:9200``): plain HTTP(S), optional
  basic auth in the URL. Used by the local test node. A comma-separated list
  (``http://127.0.0.1:9301,http://127.0.0.1:9302``) names several nodes of one
  cluster: requests go round-robin, and a node that refuses connections is
  marked dead and the request retried on the next (opensearch-py's pool), so
  losing one node does not fail requests that had not reached it.
* ``FRS_OPENSEARCH_ENDPOINT`` + ``AWS_REGION``: Amazon OpenSearch Service, every
  request SigV4-signed with the default boto3 credential chain (Lambda role,
  env, profile), refreshed by the signer as temporary credentials rotate.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from chalicelib.config import OpenSearchConfig, Settings, settings

ENGINES = ("lucene", "faiss", "nmslib")
SPACES = ("innerproduct", "cosinesimil")


@dataclass(frozen=True)
class OpenSearchSettings:
    prefix: str = "openfrs"
    engine: str = "lucene"
    # Vectors are L2-normalised (base.py), so inner product == cosine and
    # costs one dot product per comparison instead of a dot and two norms.
    space: str = "innerproduct"
    m: int = 16
    ef_construction: int = 256
    ef_search: int = 512  # recall@10 >= 0.99 at 100k faces: 256 gave 0.989 (docs/opensearch.md)
    shards: int = 1
    replicas: int = 0
    dim: int | None = None  # None: taken from the first vectors added to a set
    # "true": every write refreshes, so the next read sees it at once.
    # "wait_for": writes wait for the periodic refresh (<= refresh_interval).
    refresh: str = "true"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "OpenSearchSettings":
        """From the process settings (chalicelib/config.py), or from ``env``."""
        return cls.from_config((settings() if env is None else Settings.from_env(env)).opensearch)

    @classmethod
    def from_config(cls, c: OpenSearchConfig) -> "OpenSearchSettings":
        def pick(value: int | None, default: int) -> int:
            return default if value is None else value

        s = cls(prefix=c.prefix, engine=c.engine, space=c.space, m=pick(c.m, cls.m),
                ef_construction=pick(c.ef_construction, cls.ef_construction),
                ef_search=pick(c.ef_search, cls.ef_search), shards=pick(c.shards, cls.shards),
                replicas=pick(c.replicas, cls.replicas), dim=c.dim, refresh=c.refresh)
        if s.engine not in ENGINES:
            raise ValueError(f"FRS_OPENSEARCH_ENGINE must be one of {ENGINES}")
        if s.space not in SPACES:
            raise ValueError(f"FRS_OPENSEARCH_SPACE must be one of {SPACES}")
        if s.refresh not in ("true", "wait_for"):
            raise ValueError("FRS_OPENSEARCH_REFRESH must be 'true' or 'wait_for'")
        return s


def make_client(env: Mapping[str, str] | None = None) -> Any:
    """An ``opensearchpy.OpenSearch`` for the configured cluster."""
    from opensearchpy import OpenSearch

    c = (settings() if env is None else Settings.from_env(env)).opensearch
    urls = parse_urls(c.url)
    if urls:
        return OpenSearch(hosts=urls, timeout=c.timeout, http_compress=False)
    if not (c.endpoint and c.region):
        raise ValueError("set OPENSEARCH_URL, or FRS_OPENSEARCH_ENDPOINT and AWS_REGION")
    return make_sigv4_client(c.endpoint, c.region, c.service, c.timeout)


def parse_urls(raw: str | None) -> list[str]:
    """``OPENSEARCH_URL`` as a list of node URLs (comma-separated, blanks dropped)."""
    return [u.strip() for u in (raw or "").split(",") if u.strip()]


def make_sigv4_client(endpoint: str, region: str, service: str = "es", timeout: float = 30.0) -> Any:
    import boto3
    from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ValueError("no AWS credentials found for SigV4 signing")
    parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    return OpenSearch(
        hosts=[{"host": parsed.hostname, "port": parsed.port or 443}],
        http_auth=Urllib3AWSV4SignerAuth(credentials, region, service),
        use_ssl=parsed.scheme == "https",
        verify_certs=True,
        connection_class=Urllib3HttpConnection,
        timeout=timeout,
    )
