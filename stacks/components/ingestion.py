"""Ingestion: S3 events -> async Textract -> indexing, as an SQS fan-out.

    S3 "Object Created" --EventBridge--> IngestQueue --> ingest_start
        ingest_start: StartDocumentAnalysis(LAYOUT, TABLES), completion to TextractTopic
    TextractTopic --SNS--> TextractCompletionQueue --> index_document: queues the first page window
    WindowQueue --> index_document: each page window of a document, one at a time;
        a window reads its pages of Textract's result files (archive bucket, textract-output/),
        chunks, embeds, writes its chunks hidden and archives them; the last one publishes
        the version (ragline.windows)
    S3 "Object Deleted" --EventBridge--> DeleteQueue --> delete_document

Why an SQS fan-out and not Step Functions (README.md, "Deploy to AWS" says the same): Textract's async API
already runs the long part (up to 3,000 pages) and reports completion through SNS, so nothing
has to wait or poll; what remains runs one page window per Lambda invocation (up to 15
minutes each). SQS gives each window its own retries and a DLQ, and the event sources' maximum
concurrency caps the load on the embedding endpoint (back-pressure instead of throttling
errors). A state machine would add a second orchestrator, a callback token round trip for
Textract and per-transition cost, without a step that SQS and the registry do not already cover.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks import nag
from stacks.components import grants
from stacks.components.function import FunctionSettings, RaglineFunction
from stacks.components.queues import WorkQueue, work_queue
from stacks.components.storage import TEXTRACT_OUTPUT_PREFIX
from stacks.config import RaglineConfig

INDEX_TIMEOUT = Duration.minutes(15)
PDF_KEY_FILTER = [{"suffix": {"equals-ignore-case": ".pdf"}}]


class Ingestion(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        ingest_bucket: s3.IBucket,
        output_bucket: s3.IBucket,
        data_key: kms.IKey,
        messaging_key: kms.IKey,
        functions: FunctionSettings,
        common_environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.ingest_queue = work_queue(self, "IngestQueue", key=messaging_key, consumer_timeout=Duration.minutes(1))
        self.completion_queue = work_queue(
            self, "TextractCompletionQueue", key=messaging_key, consumer_timeout=INDEX_TIMEOUT
        )
        self.window_queue = work_queue(self, "WindowQueue", key=messaging_key, consumer_timeout=INDEX_TIMEOUT)
        self.delete_queue = work_queue(self, "DeleteQueue", key=messaging_key, consumer_timeout=Duration.minutes(2))
        self.queues: list[WorkQueue] = [self.ingest_queue, self.completion_queue, self.window_queue, self.delete_queue]

        # Textract reports job completion here; it publishes with the role below.
        self.textract_topic = sns.Topic(
            self,
            "TextractTopic",
            display_name="ragline Textract completions",
            master_key=messaging_key,
            enforce_ssl=True,
        )
        # Subscribed by hand rather than with SqsSubscription, which would add a statement naming
        # this topic to the messaging key's policy: the key already trusts SNS for this account,
        # and the topic's reference back to the key would make a dependency cycle.
        sns.Subscription(
            self,
            "TextractCompletionSubscription",
            topic=self.textract_topic,
            protocol=sns.SubscriptionProtocol.SQS,
            endpoint=self.completion_queue.queue.queue_arn,
        )
        self.completion_queue.queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.completion_queue.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.textract_topic.topic_arn}},
            )
        )
        self.textract_role = iam.Role(
            self,
            "TextractRole",
            assumed_by=iam.ServicePrincipal(
                "textract.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="Lets Textract publish ragline job completions to the TextractTopic",
        )
        grants.grant_publish(self.textract_role, self.textract_topic, messaging_key)

        for name, detail_type, queue in (
            ("ObjectCreated", "Object Created", self.ingest_queue),
            ("ObjectDeleted", "Object Deleted", self.delete_queue),
        ):
            events.Rule(
                self,
                f"{name}Rule",
                description=f"ragline: PDF {detail_type.lower()} in the ingest bucket",
                event_pattern=events.EventPattern(
                    source=["aws.s3"],
                    detail_type=[detail_type],
                    detail={"bucket": {"name": [ingest_bucket.bucket_name]}, "object": {"key": PDF_KEY_FILTER}},
                ),
                targets=[targets.SqsQueue(queue.queue, retry_attempts=8, max_event_age=Duration.hours(24))],
            )

        search_env = {**common_environment}
        textract_output = {
            "RAGLINE_EXTRACTION__OUTPUT_BUCKET": output_bucket.bucket_name,
            "RAGLINE_EXTRACTION__OUTPUT_PREFIX": TEXTRACT_OUTPUT_PREFIX.rstrip("/"),
        }
        self.ingest_start = RaglineFunction(
            self,
            "IngestStart",
            settings=functions,
            function_dir="ingest_start",
            description="Starts async Textract document analysis for each new PDF",
            environment={
                **search_env,
                "RAGLINE_EXTRACTION__BACKEND": "textract",
                "RAGLINE_EXTRACTION__TEXTRACT_TOPIC_ARN": self.textract_topic.topic_arn,
                "RAGLINE_EXTRACTION__TEXTRACT_ROLE_ARN": self.textract_role.role_arn,
                **textract_output,
                "RAGLINE_EXTRACTION__KMS_KEY_ID": data_key.key_arn,
            },
            timeout=Duration.minutes(1),
            memory_size=512,
        )
        self.index_document = RaglineFunction(
            self,
            "IndexDocument",
            settings=functions,
            function_dir="index_document",
            description="Chunks, embeds and indexes a PDF once Textract has finished reading it",
            environment={
                **search_env,
                "RAGLINE_EXTRACTION__BACKEND": "textract",
                **textract_output,
                "RAGLINE_WINDOWS__QUEUE_URL": self.window_queue.queue.queue_url,
                "RAGLINE_WINDOWS__MAX_RECEIVES": str(self.window_queue.max_receive_count),
                "RAGLINE_ARCHIVE__BACKEND": "firehose",
            },
            timeout=INDEX_TIMEOUT,
            memory_size=3008,
        )
        self.delete_document = RaglineFunction(
            self,
            "DeleteDocument",
            settings=functions,
            function_dir="delete_document",
            description="Removes a deleted PDF's chunks from the index and marks it deleted",
            environment=search_env,
            timeout=Duration.minutes(2),
            memory_size=512,
        )

        # Event sources: partial batch failures, so one bad message never fails its neighbours.
        self.ingest_start.function.add_event_source(
            sources.SqsEventSource(
                self.ingest_queue.queue,
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=config.textract_start_concurrency,  # Textract's start quota, see the config
            )
        )
        self.index_document.function.add_event_source(
            sources.SqsEventSource(
                self.completion_queue.queue,
                batch_size=1,
                report_batch_item_failures=True,
                # A completion only queues its document's first window (one GetDocumentAnalysis call,
                # 10 TPS by default): capped too, so a burst of completions stays under that quota.
                max_concurrency=config.ingest_concurrency,
            )
        )
        self.index_document.function.add_event_source(
            sources.SqsEventSource(
                self.window_queue.queue,
                batch_size=1,
                report_batch_item_failures=True,
                max_concurrency=config.ingest_concurrency,  # only windows embed: the endpoint's back-pressure
            )
        )
        self.delete_document.function.add_event_source(
            sources.SqsEventSource(self.delete_queue.queue, batch_size=10, report_batch_item_failures=True)
        )
        # Out of retries, a message moves to its queue's DLQ by the queue's own redrive policy: the
        # functions never send to a DLQ themselves (a permanent failure is recorded and acknowledged).

        # ingest_start: Textract reads the PDF, and writes its result files (OutputConfig, encrypted
        # with the data key), with the caller's permissions.
        self.ingest_start.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[ingest_bucket.arn_for_objects("*")]
            )
        )
        data_key.grant(self.ingest_start.role, "kms:Decrypt")
        # Textract's async APIs have no resource-level permissions (tests/infra lists the exception).
        self.ingest_start.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["textract:StartDocumentAnalysis"], resources=["*"])
        )
        self.textract_role.grant_pass_role(self.ingest_start.role)
        output_objects = output_bucket.arn_for_objects(f"{TEXTRACT_OUTPUT_PREFIX}*")
        self.ingest_start.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[output_objects])
        )
        data_key.grant(self.ingest_start.role, "kms:GenerateDataKey")

        # index_document: the job's page count (GetDocumentAnalysis), then its result files, listed
        # under the job's prefix and read a window at a time; and each next window sent.
        self.index_document.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["textract:GetDocumentAnalysis"], resources=["*"])
        )
        self.index_document.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[output_objects])
        )
        self.index_document.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[output_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{TEXTRACT_OUTPUT_PREFIX}*"]}},
            )
        )
        data_key.grant(self.index_document.role, "kms:Decrypt")
        grants.grant_send(self.index_document.role, self.window_queue.queue, messaging_key)
        # Before removing a source's chunks, delete_document checks the object's current state with
        # HeadObject: that needs s3:GetObject, and s3:ListBucket for S3 to answer 404 rather than
        # 403 for an object that is gone.
        self.delete_document.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[ingest_bucket.arn_for_objects("*")])
        )
        self.delete_document.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[ingest_bucket.bucket_arn])
        )
        nag.acknowledge_resources(
            self.ingest_start.role,
            "ingest_start hashes any newly uploaded PDF and hands it to Textract (object keys are chosen by "
            "users, so the ingest bucket's object ARN is '/*').",
            resources=[ingest_bucket.arn_for_objects("*")],
        )
        nag.acknowledge_resources(
            self.ingest_start.role,
            "Textract writes each job's result files under textract-output/<job id>/ with the caller's "
            "permissions; job ids are Textract's, so the prefix ends in a wildcard.",
            resources=[output_objects],
        )
        nag.acknowledge_resources(
            self.index_document.role,
            "index_document reads the result files of any Textract job, under textract-output/<job id>/.",
            resources=[output_objects],
        )
        nag.acknowledge_resources(
            self.delete_document.role,
            "delete_document checks that a deleted PDF (any key chosen by users) was not uploaded again before "
            "removing its chunks.",
            resources=[ingest_bucket.arn_for_objects("*")],
        )

    @property
    def functions(self) -> list[RaglineFunction]:
        return [self.ingest_start, self.index_document, self.delete_document]
