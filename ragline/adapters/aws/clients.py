"""boto3 and OpenSearch clients, built on demand from `AwsSettings`, never at import time.

One retry policy per call:
- AWS APIs: botocore's own retry modes (`standard`: jittered exponential back-off on throttling
  and transient errors; `adaptive`: the same plus client-side rate limiting). No adapter wraps
  a boto3 call in a retry loop of its own.
- OpenSearch: the client is built with its transport retries OFF (`max_retries=0`), because
  opensearch-py retries at once, without back-off; every call site instead goes through
  `opensearch_retry` (tenacity, jittered exponential back-off). Nesting the two would turn one
  call into attempts x retries requests. The one exception is `_bulk`, whose helper retries
  429s (the whole request and each refused item) with its own back-off: it is not wrapped again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from ragline.config import AwsSettings, IndexSettings
from ragline.errors import ConfigurationError

# OpenSearch answers these when it is overloaded or being updated: worth another try after a pause.
OPENSEARCH_RETRY_STATUS = frozenset({429, 502, 503, 504})
OPENSEARCH_ATTEMPTS = 5  # requests per call at most, the first one included


def aws_client(service: str, settings: AwsSettings) -> Any:
    import boto3
    from botocore.config import Config

    # total_max_attempts counts the first call too, unlike botocore's older max_attempts.
    config = Config(retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts})
    return boto3.session.Session().client(service, region_name=settings.region, config=config)


# --- OpenSearch ---------------------------------------------------------------------------------


def is_retryable_opensearch_error(error: BaseException) -> bool:
    """Throttling, an overloaded node, or no connection at all (opensearch-py's ConnectionError)."""
    from opensearchpy import ConnectionError as NoConnectionError

    return isinstance(error, NoConnectionError) or getattr(error, "status_code", None) in OPENSEARCH_RETRY_STATUS


# The only retry policy of an OpenSearch call (the client's own retries are off, see above).
# Jitter, so that concurrent Lambdas throttled together do not come back together.
opensearch_retry = retry(
    retry=retry_if_exception(is_retryable_opensearch_error),
    wait=wait_random_exponential(multiplier=0.5, max=10),
    stop=stop_after_attempt(OPENSEARCH_ATTEMPTS),
    reraise=True,
)


@dataclass(frozen=True)
class OpenSearchAddress:
    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def opensearch_address(endpoint: str) -> OpenSearchAddress:
    """`https://host`, `http://127.0.0.1:9200`, or a bare host name (a managed domain: https on 443)."""
    parsed = urlsplit(endpoint.strip() if "://" in endpoint else f"https://{endpoint.strip()}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigurationError(f"index.opensearch_endpoint {endpoint!r} is not a host name or an http(s) URL")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError as error:  # a port that is not a number
        raise ConfigurationError(f"index.opensearch_endpoint {endpoint!r}: {error}") from error
    return OpenSearchAddress(scheme=parsed.scheme, host=parsed.hostname, port=port)


def http_connection_class() -> type:
    """How opensearch-py sends a request; tests swap in the in-memory OpenSearch here."""
    from opensearchpy import RequestsHttpConnection

    return RequestsHttpConnection


def opensearch_client(index: IndexSettings, aws: AwsSettings, *, timeout: float = 30.0) -> Any:
    """The one OpenSearch client builder: SigV4-signed with the caller's credentials, retries off.

    Used by the index adapter and by the search custom resource (role mapping) alike.
    """
    import boto3
    from opensearchpy import AWSV4SignerAuth, OpenSearch

    if not index.opensearch_endpoint:
        raise ConfigurationError("index.backend is 'opensearch' but index.opensearch_endpoint is not set")
    address = opensearch_address(index.opensearch_endpoint)
    session = boto3.session.Session()
    region = aws.region or session.region_name
    if not region:
        raise ConfigurationError("no AWS region: set AWS_REGION or aws.region")
    return OpenSearch(
        # The host's scheme alone decides TLS (opensearch-py turns use_ssl on for "https").
        hosts=[{"host": address.host, "port": address.port, "scheme": address.scheme}],
        http_auth=AWSV4SignerAuth(session.get_credentials(), region, index.opensearch_service),
        verify_certs=address.scheme == "https",
        connection_class=http_connection_class(),
        timeout=timeout,
        max_retries=0,  # `opensearch_retry` is the retry policy: never both
    )
