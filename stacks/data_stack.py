"""Stateful resources: network, keys, buckets, tables, file share, search domain.

Logical ids here are identities: renaming a construct replaces (and, for data, loses) the
resource. Deploy this stack rarely; everything that changes often lives in RaglineService.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.components.encryption import EncryptionKey
from stacks.components.file_share import FileShare
from stacks.components.function import DependenciesLayer, log_retention
from stacks.components.network import Network
from stacks.components.search import SearchDomain
from stacks.components.storage import Buckets
from stacks.components.tables import Tables
from stacks.config import RaglineConfig


class RaglineDataStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: RaglineConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retain = config.retain_data
        self.data_key = EncryptionKey(self, "DataKey", description="ragline data at rest", retain=retain)
        self.data_key.allow_cloudwatch_logs()
        key = self.data_key.key
        self.network = Network(self, "Network", config=config, key=key)
        self.buckets = Buckets(self, "Buckets", key=key, retain=retain)
        self.tables = Tables(self, "Tables", key=key, retain=retain)
        self.file_share = FileShare(self, "FileShare", vpc=self.network.vpc, key=key, retain=retain)
        layer = DependenciesLayer(self, "Dependencies")
        self.search = SearchDomain(
            self,
            "Search",
            config=config,
            vpc=self.network.vpc,
            key=key,
            layer=layer.layer,
            log_retention=log_retention(config.log_retention_days),
        )
        CfnOutput(self, "IngestBucketName", value=self.buckets.ingest.bucket_name, description="Drop PDFs here")
        CfnOutput(self, "ArchiveBucketName", value=self.buckets.archive.bucket_name)
        CfnOutput(self, "SearchEndpoint", value=self.search.endpoint)
        CfnOutput(self, "SearchIndex", value=config.index_name)
        CfnOutput(self, "FileSystemId", value=self.file_share.file_system.file_system_id)
        CfnOutput(self, "RegistryTableName", value=self.tables.registry.table_name)
