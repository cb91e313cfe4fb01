"""Stateless resources: ingestion, archive streams, query API, transfer, drift jobs, monitoring.

Safe to destroy and redeploy: it holds no data of its own (queues drain, logs expire).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CfnOutput, Duration, Stack
from constructs import Construct

from stacks.components import grants
from stacks.components.api import QueryApi
from stacks.components.archive import EmbeddingArchive
from stacks.components.chat_ui import ChatUi
from stacks.components.drift import DEFAULT_SCRIPTS_DIR, DriftJobs
from stacks.components.encryption import EncryptionKey
from stacks.components.function import DependenciesLayer, FunctionSettings, RaglineFunction, log_retention
from stacks.components.ingestion import Ingestion
from stacks.components.models import embedding_binding, generation_binding
from stacks.components.monitoring import DASHBOARD_NAME, Monitoring
from stacks.components.transfer import IngestSync, JumpHost
from stacks.config import RaglineConfig
from stacks.data_stack import RaglineDataStack

# Clearly below API Gateway's 29 s integration timeout (api.INTEGRATION_TIMEOUT), which also counts a
# cold start's init: a slow answer then ends as the function's own timeout (logged, counted in
# its Errors metric) instead of a gateway 504 while the function keeps running unseen.
QUERY_TIMEOUT = Duration.seconds(25)


class RaglineServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        data: RaglineDataStack,
        glue_scripts_dir: Path = DEFAULT_SCRIPTS_DIR,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = log_retention(config.log_retention_days)
        messaging = EncryptionKey(
            self, "MessagingKey", description="ragline queues, topics, streams and logs", retain=False
        )
        messaging.allow_cloudwatch_logs()
        for sid, service in (
            ("AllowEventBridge", "events.amazonaws.com"),
            ("AllowSns", "sns.amazonaws.com"),
            ("AllowCloudWatchAlarms", "cloudwatch.amazonaws.com"),
        ):
            messaging.allow_service(sid, service)
        key = messaging.key
        data_key = data.data_key.key
        vpc = data.network.vpc
        search = data.search
        tables = data.tables
        buckets = data.buckets

        layer = DependenciesLayer(self, "Dependencies")
        functions = FunctionSettings(
            layer=layer.layer, key=key, log_retention=retention, vpc=vpc, security_groups=[search.clients]
        )
        archive = EmbeddingArchive(
            self, "Archive", bucket=buckets.archive, data_key=data_key, stream_key=key, log_retention=retention
        )
        embedding = embedding_binding(config)
        generation = generation_binding(config)
        search_env = {
            "RAGLINE_INDEX__BACKEND": "opensearch",
            "RAGLINE_INDEX__OPENSEARCH_ENDPOINT": search.endpoint,
            "RAGLINE_INDEX__OPENSEARCH_INDEX": search.index_name,
            "RAGLINE_INDEX__REGISTRY_TABLE": tables.registry.table_name,
        }

        self.ingestion = Ingestion(
            self,
            "Ingestion",
            config=config,
            ingest_bucket=buckets.ingest,
            output_bucket=buckets.archive,
            data_key=data_key,
            messaging_key=key,
            functions=functions,
            common_environment=search_env,
        )
        index_fn = self.ingestion.index_document
        for name, value in {
            **embedding.environment,
            "RAGLINE_ARCHIVE__EMBEDDING_STREAM": archive.embeddings.delivery_stream_name,
        }.items():
            index_fn.function.add_environment(name, value)
        embedding.grant_invoke(index_fn.role)
        grants.grant_put_records(index_fn.role, archive.embeddings)
        for function in self.ingestion.functions:
            grants.grant_table(function.role, tables.registry, data_key, write=True)
        # ingest_start looks up whether a content hash is already indexed under another source, and
        # delete_document which copies of a deleted source take its chunks over: a Query on the
        # document-id index. index_document indexes the version ingest_start chose, by source.
        for function in (self.ingestion.ingest_start, self.ingestion.delete_document):
            grants.grant_index_query(function.role, tables.registry_index_arn)
            function.function.add_environment("RAGLINE_INDEX__REGISTRY_DOCUMENT_INDEX", tables.registry_document_index)
        # Only the functions that change the index may write to it. ingest_start does when an upload
        # turns a source into a copy of another's content: what the source held goes (or passes to
        # a copy of it), so its old content stops being served.
        index_writers = [self.ingestion.ingest_start, self.ingestion.index_document, self.ingestion.delete_document]
        for function in index_writers:
            search.grant_http(function.role, write=True)

        self.query = RaglineFunction(
            self,
            "Query",
            settings=functions,
            function_dir="query",
            description="Answers questions over the indexed PDFs (behind the query API)",
            environment={
                **search_env,
                # Questions are embedded and searched, never indexed: the vector size is not needed here.
                **{
                    name: value
                    for name, value in embedding.environment.items()
                    if name != "RAGLINE_EMBEDDING__DIMENSION"
                },
                **generation.environment,
                "RAGLINE_ARCHIVE__PROMPT_STREAM": archive.prompts.delivery_stream_name,
                "RAGLINE_ARCHIVE__BACKEND": "firehose",
                "RAGLINE_METRICS__BACKEND": "emf",
                "RAGLINE_CONVERSATION__TABLE": tables.conversations.table_name,
            },
            timeout=QUERY_TIMEOUT,
            memory_size=1024,
        )
        embedding.grant_invoke(self.query.role)
        generation.grant_invoke(self.query.role)
        grants.grant_put_records(self.query.role, archive.prompts)
        grants.grant_table(self.query.role, tables.registry, data_key, write=False)
        grants.grant_table_scan(self.query.role, tables.registry)  # GET /documents lists every document
        grants.grant_conversations(self.query.role, tables.conversations, data_key)  # POST /query with a session
        search.grant_http(self.query.role, write=False)
        search.map_roles(self, writers=[f.role for f in index_writers], readers=[self.query.role])

        self.api = QueryApi(
            self, "QueryApi", config=config, handler=self.query.function, log_key=key, log_retention=retention
        )

        self.chat_ui: ChatUi | None = None
        if config.chat_ui:  # config: needs apiAuth=cognito, so the API built its user pool
            self.chat_ui = ChatUi(
                self,
                "ChatUi",
                config=config,
                vpc=vpc,
                user_pool=self.api.user_pool,
                api_url=self.api.api.url,
                ingest_bucket=buckets.ingest,
                data_key=data_key,
                key=key,
                log_retention=retention,
            )

        if config.jump_host:
            self.jump_host = JumpHost(
                self,
                "JumpHost",
                config=config,
                vpc=vpc,
                file_system=data.file_share.file_system,
                clients=data.file_share.clients,
            )
            CfnOutput(
                self,
                "JumpHostId",
                value=self.jump_host.instance.instance_id,
                description="aws ssm start-session --target",
            )
        self.sync = IngestSync(
            self,
            "IngestSync",
            config=config,
            vpc=vpc,
            file_system=data.file_share.file_system,
            clients=data.file_share.clients,
            bucket=buckets.ingest,
            data_key=data_key,
            log_key=key,
            log_retention=retention,
        )

        self.drift = DriftJobs(
            self,
            "Drift",
            config=config,
            archive_bucket=buckets.archive,
            key=data_key,
            document_runs=tables.document_drift_runs,
            document_centroids=tables.document_drift_centroids,
            prompt_runs=tables.prompt_drift_runs,
            prompt_centroids=tables.prompt_drift_centroids,
            distance_results=tables.distance_results,
            scripts_dir=glue_scripts_dir,
        )

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            key=key,
            queues=self.ingestion.queues,
            functions=[*self.ingestion.functions, self.query],
            api=self.api.api,
            # The query runtime's EMF scores carry the embedding model's name and the index.
            score_dimensions={
                "model": embedding.environment["RAGLINE_EMBEDDING__MODEL_NAME"],
                "index": search.index_name,
            },
            glue_job_names=[self.drift.drift_job.job_name, self.drift.distance_job.job_name],
        )

        CfnOutput(self, "ApiUrl", value=self.api.api.url)
        CfnOutput(self, "DataSyncTaskArn", value=self.sync.task.attr_task_arn)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(
            self,
            "DashboardUrl",
            value=f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}#dashboards:name={DASHBOARD_NAME}",
        )
        if self.api.user_pool is not None:
            CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
