"""The `RAG_Scores` dashboard and the alarms, sent to one SNS topic.

Custom metrics, all in namespace `rag` (names in README.md, "Deploy to AWS", "Runtime contract"):
- query scores (`similarity`, `mean_similarity`), EMF with dimensions `model` and `index`;
- ingestion counts (`DocumentsIndexed`, `DocumentsFailed`, ...), Powertools Metrics with
  dimension `service=ragline`;
- drift (`centroid_shift`, `drift_detected`, `prompt_outlier_rate`, ...) from the Glue jobs,
  without dimensions.
Glue drift-job runs that fail, time out or error reach the same topic through an EventBridge rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.components.function import METRICS_NAMESPACE, SERVICE_NAME, RaglineFunction
from stacks.components.queues import WorkQueue
from stacks.config import RaglineConfig

DASHBOARD_NAME = "RAG_Scores"
SERVICE_DIMENSION = {"service": SERVICE_NAME}
FIVE_MINUTES = Duration.minutes(5)


def rag_metric(
    name: str,
    statistic: str,
    *,
    dimensions: dict[str, str] | None = None,
    label: str | None = None,
    period: Duration = FIVE_MINUTES,
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map=SERVICE_DIMENSION if dimensions is None else dimensions,
        statistic=statistic,
        label=label or f"{name} ({statistic})",
        period=period,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: RaglineConfig,
        key: kms.IKey,
        queues: Sequence[WorkQueue],
        functions: Sequence[RaglineFunction],
        api: apigw.RestApi,
        score_dimensions: dict[str, str],
        glue_job_names: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "AlarmTopic", display_name="ragline alarms", master_key=key, enforce_ssl=True)
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        notify = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> cloudwatch.Alarm:
            created = metric.create_alarm(
                self,
                name,
                alarm_description=description,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(notify)
            self.alarms.append(created)
            return created

        for work in queues:
            alarm(
                f"{work.name}DlqAlarm",
                work.dlq.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum"),
                1,
                f"Messages of {work.name} failed every retry and wait in its DLQ: inspect, fix, redrive.",
            )
        for function in functions:
            alarm(
                f"{function.node.id}ErrorsAlarm",
                function.function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"The {function.node.id} Lambda raised errors.",
            )
        alarm("Api5xxAlarm", api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"), 5, "Query API 5XX errors.")
        alarm(
            "DocumentsFailedAlarm",
            rag_metric("DocumentsFailed", "Sum"),
            1,
            "Documents failed to ingest (the registry records each reason).",
        )
        # Published by the Glue jobs (ragline.drift), one value per run, without dimensions.
        daily = Duration.days(1)
        drift_detected = rag_metric("drift_detected", "Maximum", dimensions={}, period=daily)
        centroid_shift = rag_metric("centroid_shift", "Maximum", dimensions={}, period=daily)
        prompt_outliers = rag_metric("prompt_outlier_rate", "Maximum", dimensions={}, period=daily)
        prompt_distance = rag_metric("prompt_distance_mean", "Average", dimensions={}, period=daily)
        alarm(
            "DriftDetectedAlarm",
            drift_detected,
            1,
            "The drift job's snapshot crossed one of its thresholds (its run row in DynamoDB lists the reasons).",
        )
        alarm(
            "CentroidShiftAlarm",
            centroid_shift,
            config.centroid_shift_alarm_threshold,
            "An embedding cluster moved further than the threshold (in cluster radii) since BASELINE.",
        )
        alarm(
            "PromptOutlierAlarm",
            prompt_outliers,
            config.prompt_outlier_alarm_threshold,
            "More prompts than the threshold lie far from every document cluster: users ask about "
            "what the corpus does not cover.",
        )

        self.glue_failures = self._notify_glue_failures(glue_job_names)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=DASHBOARD_NAME, default_interval=Duration.days(7)
        )
        similarity_avg = rag_metric("similarity", "Average", dimensions=score_dimensions, label="average similarity")
        similarity_count = rag_metric("similarity", "SampleCount", dimensions=score_dimensions, label="scores")
        # Every model and index at once, should the model dimension differ from the configured name.
        all_scores = cloudwatch.MathExpression(
            expression="SEARCH('{rag,index,model} MetricName=\"similarity\"', 'Average', 300)",
            label="similarity by model and index",
            period=FIVE_MINUTES,
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Similarity scores", left=[similarity_avg], right=[similarity_count], width=12
            ),
            cloudwatch.GraphWidget(title="Similarity, all models", left=[all_scores], width=6),
            cloudwatch.SingleValueWidget(title="Similarity", metrics=[similarity_avg, similarity_count], width=6),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Ingestion",
                left=[
                    rag_metric(name, "Sum")
                    for name in ("DocumentsIndexed", "DocumentsFailed", "DocumentsUnchanged", "DocumentsDuplicate")
                ],
                right=[rag_metric(name, "Sum") for name in ("ExtractionsStarted", "DocumentsSkipped", "ChunksDeleted")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Queue depth",
                left=[w.queue.metric_approximate_number_of_messages_visible(label=w.name) for w in queues],
                right=[w.dlq.metric_approximate_number_of_messages_visible(label=f"{w.name} DLQ") for w in queues],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Errors",
                left=[f.function.metric_errors(label=f.node.id) for f in functions],
                right=[api.metric_client_error(label="API 4XX"), api.metric_server_error(label="API 5XX")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Latency",
                left=[api.metric_latency(statistic=stat, label=f"API {stat}") for stat in ("p50", "p90", "p99")],
                right=[f.function.metric_duration(statistic="p90", label=f"{f.node.id} p90") for f in functions],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Drift",
                left=[centroid_shift, prompt_distance],
                right=[prompt_outliers, drift_detected],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=config.centroid_shift_alarm_threshold, label="shift alarm")
                ],
                right_annotations=[
                    cloudwatch.HorizontalAnnotation(value=config.prompt_outlier_alarm_threshold, label="outlier alarm")
                ],
                width=16,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=8),
        )

    def _notify_glue_failures(self, job_names: Sequence[str]) -> events.Rule:
        """A failed, timed-out or errored run of a drift job, sent to the alarm topic with its reason.

        EventBridge's "Glue Job State Change" event, not a CloudWatch alarm on Glue's job metrics:
        those (glue.driver.aggregate.numFailedTasks, ...) count Spark task failures while a run
        is alive, so a driver that raises before any task (e.g. "the selection holds no
        vectors"), a run that never starts, or a timeout publishes nothing to alarm on. Glue
        emits the state-change event for every run of every Glue version, 5.0 included.
        """
        detail = "$.detail"
        message = events.RuleTargetInput.from_text(
            f"Glue job {events.EventField.from_path(f'{detail}.jobName')} "
            f"run {events.EventField.from_path(f'{detail}.jobRunId')} "
            f"ended {events.EventField.from_path(f'{detail}.state')}: "
            f"{events.EventField.from_path(f'{detail}.message')}"
        )
        return events.Rule(
            self,
            "GlueJobFailedRule",
            description="ragline: a drift or distance Glue job run failed, timed out or errored",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": list(job_names), "state": ["FAILED", "TIMEOUT", "ERROR"]},
            ),
            targets=[targets.SnsTopic(self.topic, message=message)],
        )
