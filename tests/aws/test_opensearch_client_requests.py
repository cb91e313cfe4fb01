"""What the OpenSearch client really sends: a managed domain refuses an unsigned request, and a request
without a timeout would hold a Lambda until its own timeout. The other OpenSearch tests swap the transport
for the in-memory fake, below the signing; these send through opensearch-py's real requests transport,
intercepted by `responses` (pinned in the aws-test extra)."""

from __future__ import annotations

import pytest
import responses

from ragline.adapters.aws.clients import opensearch_client
from ragline.config import AwsSettings, IndexSettings

ACCESS_KEY = "AKIDRAGLINETEST"
SESSION_TOKEN = "session-token-of-the-lambda-role"


@pytest.fixture
def lambda_credentials(monkeypatch):
    """The credentials a Lambda's role gives it, in the environment as Lambda puts them."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


def sent_request(client, url: str):
    """The one request `client.count(index="chunks")` sends, as it left opensearch-py's transport."""
    with responses.RequestsMock() as mocked:
        mocked.post(url, json={"count": 0})
        client.count(index="chunks")
        (call,) = mocked.calls
    return call.request


@pytest.mark.parametrize("service", ["es", "aoss"])
def test_each_request_is_signed_with_the_role_s_credentials_for_the_region_and_service(lambda_credentials, service):
    index = IndexSettings(backend="opensearch", opensearch_endpoint="search.test", opensearch_service=service)
    client = opensearch_client(index, AwsSettings(region="eu-west-1"))
    request = sent_request(client, "https://search.test:443/chunks/_count")
    algorithm, credential = request.headers["Authorization"].split(",")[0].split(" ")
    assert algorithm == "AWS4-HMAC-SHA256"
    key, _day, region, signed_for, _terminator = credential.removeprefix("Credential=").split("/")
    assert (key, region, signed_for) == (ACCESS_KEY, "eu-west-1", service)
    assert request.headers["X-Amz-Security-Token"] == SESSION_TOKEN  # a role's credentials are temporary


@pytest.mark.parametrize(("asked", "sent"), [({}, 30.0), ({"timeout": 60}, 60)], ids=["default", "bootstrap's"])
def test_each_request_waits_a_bounded_time(lambda_credentials, asked, sent):
    """A search against an unresponsive domain gives up after the builder's timeout (30 s, or what the
    caller asks: the index bootstrap asks 60), never waits without end."""
    index = IndexSettings(backend="opensearch", opensearch_endpoint="https://search.test")
    client = opensearch_client(index, AwsSettings(region="eu-west-1"), **asked)
    request = sent_request(client, "https://search.test:443/chunks/_count")
    assert request.req_kwargs["timeout"] == sent
