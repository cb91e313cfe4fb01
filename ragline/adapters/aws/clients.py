"""boto3 and OpenSearch clients, built on demand from `AwsSettings`, never at import time.

Throttling is handled by botocore's own retry modes (`standard`: jittered exponential
back-off on throttling and transient errors; `adaptive`: the same plus client-side rate
limiting), so no adapter hand-writes a retry loop for an AWS API call.
"""

from __future__ import annotations

from typing import Any

from ragline.config import AwsSettings, IndexSettings
from ragline.errors import ConfigurationError

# OpenSearch answers these when it is overloaded or being updated; opensearch-py retries them.
OPENSEARCH_RETRY_STATUS = (429, 502, 503, 504)


def aws_client(service: str, settings: AwsSettings) -> Any:
    import boto3
    from botocore.config import Config

    # total_max_attempts counts the first call too, unlike botocore's older max_attempts.
    config = Config(retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts})
    return boto3.session.Session().client(service, region_name=settings.region, config=config)


def opensearch_client(index: IndexSettings, aws: AwsSettings) -> Any:
    """An opensearch-py client signing every request with the Lambda role's credentials (SigV4)."""
    import boto3
    from opensearchpy import AWSV4SignerAuth, OpenSearch, RequestsHttpConnection

    if not index.opensearch_endpoint:
        raise ConfigurationError("index.backend is 'opensearch' but index.opensearch_endpoint is not set")
    session = boto3.session.Session()
    region = aws.region or session.region_name
    if not region:
        raise ConfigurationError("no AWS region: set AWS_REGION or aws.region")
    host = index.opensearch_endpoint.removeprefix("https://").rstrip("/")
    return OpenSearch(
        hosts=[{"host": host, "port": 443}],
        http_auth=AWSV4SignerAuth(session.get_credentials(), region, index.opensearch_service),
        use_ssl=True,
        verify_certs=True,
        connection_class=RequestsHttpConnection,
        timeout=30,
        max_retries=3,
        retry_on_status=OPENSEARCH_RETRY_STATUS,
    )
