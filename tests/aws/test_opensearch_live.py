"""The Index contract against a real OpenSearch, when `OPENSEARCH_URL` names one.

    docker run -d -p 9200:9200 -e discovery.type=single-node -e DISABLE_SECURITY_PLUGIN=true \\
        opensearchproject/opensearch:2.19.1
    OPENSEARCH_URL=http://localhost:9200 pytest tests/aws/test_opensearch_live.py

Credentials go in the URL (https://user:password@host:9200); certificates are verified unless
`OPENSEARCH_VERIFY_CERTS=false`. Each test uses its own index and deletes it afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest

from ragline.adapters.aws.opensearch_index import OpenSearchIndex
from tests.contracts.index_contract import DIMENSION, IndexContract

OPENSEARCH_URL = os.environ.get("OPENSEARCH_URL")

pytestmark = pytest.mark.skipif(not OPENSEARCH_URL, reason="set OPENSEARCH_URL to run against a live OpenSearch")


@pytest.fixture(scope="module")
def live_client():
    from opensearchpy import OpenSearch

    verify = os.environ.get("OPENSEARCH_VERIFY_CERTS", "true").lower() != "false"
    return OpenSearch(hosts=[OPENSEARCH_URL], verify_certs=verify, ssl_show_warn=verify)


class TestLiveOpenSearchIndex(IndexContract):
    @pytest.fixture
    def index(self, live_client):
        name = f"ragline-contract-{uuid.uuid4().hex[:12]}"
        index = OpenSearchIndex(live_client, name, dimension=DIMENSION)
        index.ensure_index()
        yield index
        live_client.indices.delete(index=name, ignore_unavailable=True)
