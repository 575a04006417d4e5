"""Monitoring: alarms on what needs a person (a message in a dead-letter queue, a function's errors or
throttles, a queue whose oldest message waits too long, a runner task that stopped on an error), sent to an SNS
topic (e-mailed when ``alarm_email`` is set), and a dashboard of the same."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

#: how long a message may wait in a queue before someone should look (a stuck consumer)
OLDEST_MESSAGE_LIMIT = {
    "runs": Duration.minutes(15),
    "long_runs": Duration.minutes(30),
    # high goes first, so it never waits long; low waits for the others by design
    "runs_high": Duration.minutes(15),
    "runs_low": Duration.hours(2),
    "long_runs_high": Duration.minutes(30),
    "long_runs_low": Duration.hours(4),
}
DEFAULT_OLDEST_MESSAGE_LIMIT = Duration.minutes(10)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: str,
        alarm_email: str | None,
        functions: Mapping[str, lambda_.IFunction],
        queues: Mapping[str, sqs.IQueue],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        cluster: ecs.ICluster | None,
    ) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(self, "Alarms", display_name=f"autotest {stage} alarms", enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        period = Duration.minutes(5)
        for name, dlq in dead_letter_queues.items():
            self._alarm(
                f"{name}-dead-letters",
                dlq.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"),
                threshold=1,
                what=f"messages in the {name} dead-letter queue",
            )
        for name, queue in queues.items():
            limit = OLDEST_MESSAGE_LIMIT.get(name, DEFAULT_OLDEST_MESSAGE_LIMIT)
            self._alarm(
                f"{name}-oldest-message",
                queue.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum"),
                threshold=limit.to_seconds(),
                what=f"seconds the oldest message of the {name} queue has waited",
            )
        for name, function in functions.items():
            self._alarm(f"{name}-errors", function.metric_errors(period=period), threshold=1, what=f"{name} errors")
            self._alarm(
                f"{name}-throttles", function.metric_throttles(period=period), threshold=1, what=f"{name} throttles"
            )
        if cluster is not None:
            # a worker task that stopped with its container failing (not a scale-in): straight to the topic
            events.Rule(
                self,
                "RunnerTaskFailed",
                description="a runner task stopped with a non-zero exit code",
                event_pattern=events.EventPattern(
                    source=["aws.ecs"],
                    detail_type=["ECS Task State Change"],
                    detail={
                        "clusterArn": [cluster.cluster_arn],
                        "lastStatus": ["STOPPED"],
                        "containers": {"exitCode": [{"anything-but": 0}]},
                    },
                ),
                targets=[targets.SnsTopic(self.topic)],
            )
        self.dashboard = self._dashboard(stage, functions, queues, dead_letter_queues)

    def _alarm(self, name: str, metric: cloudwatch.IMetric, *, threshold: float, what: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_description=f"autotest: {what} reached {threshold:g}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def _dashboard(
        self,
        stage: str,
        functions: Mapping[str, lambda_.IFunction],
        queues: Mapping[str, sqs.IQueue],
        dead_letter_queues: Mapping[str, sqs.IQueue],
    ) -> cloudwatch.Dashboard:
        # dashboards are one namespace per account: the region in the name keeps one stage's in two regions apart
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"autotest-{stage}-{Stack.of(self).region}")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Messages waiting",
                left=[q.metric_approximate_number_of_messages_visible(label=n) for n, q in queues.items()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Oldest message (s)",
                left=[q.metric_approximate_age_of_oldest_message(label=n) for n, q in queues.items()],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations", left=[f.metric_invocations(label=n) for n, f in functions.items()], width=8
            ),
            cloudwatch.GraphWidget(
                title="Errors", left=[f.metric_errors(label=n) for n, f in functions.items()], width=8
            ),
            cloudwatch.GraphWidget(
                title="Duration (p90)",
                left=[f.metric_duration(label=n, statistic="p90") for n, f in functions.items()],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
            cloudwatch.GraphWidget(
                title="Dead letters",
                left=[q.metric_approximate_number_of_messages_visible(label=n) for n, q in dead_letter_queues.items()],
                width=12,
            ),
        )
        return dashboard
