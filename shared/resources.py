"""Names of the AWS resources, shared by ``provision()`` (local mode, tests) and the CDK stack."""

TABLE_NAME = "autotest"
RUN_QUEUE_NAME = "autotest-runs"
RUN_DLQ_NAME = "autotest-runs-dlq"
#: plan requests (a proposal to fill, a goal-only run to plan) for the planner worker
PLAN_QUEUE_NAME = "autotest-plans"
PLAN_DLQ_NAME = "autotest-plans-dlq"
#: the events the events function consumes (an EventBridge rule on ``Run Status Changed`` feeds it): suite-run
#: aggregation
#: (named after the bus: ``autotest-events``, ``autotest-events-dlq``)
EVENTS_QUEUE_SUFFIX = "-events"
#: the EventBridge rule that sends run status changes to the events queue (``autotest-run-status-to-events``)
EVENTS_RULE_SUFFIX = "-run-status-to-events"
#: EventBridge Scheduler invocations of the scheduler function that failed every retry
SCHEDULE_DLQ_NAME = "autotest-schedules-dlq"
#: EventBridge Scheduler: a project's schedules are in the schedule group "<SCHEDULE_GROUP_PREFIX><project id>"
SCHEDULE_GROUP_PREFIX = "autotest-"
#: the notifier's queue: run and suite-run events (an EventBridge rule targets it) and delivery attempts
#: (named after the bus: ``autotest-notifications``, ``autotest-notifications-dlq``)
NOTIFY_QUEUE_SUFFIX = "-notifications"
#: the EventBridge rule that puts "Run Status Changed" and "Suite Run Completed" on the notifier's queue
NOTIFY_RULE_SUFFIX = "-rule"
ARTIFACT_BUCKET = "autotest-artifacts"
EVENT_BUS_NAME = "autotest"
EVENT_SOURCE = "autotest"
# Secrets Manager: a project's secret NAME is "<SECRETS_PREFIX><project id>/<NAME>".
SECRETS_PREFIX = "autotest/"

# DynamoDB global secondary indexes. Keys are overloaded: see shared/aws/dynamodb.py.
GSI_NAMES = ("gsi1", "gsi2", "gsi3", "gsi4")
#: the table's TTL attribute (unix seconds): element-cache entries expire by it
TTL_ATTRIBUTE = "expires_at"
#: the audit log's partitions start with this (``AUDIT#<project id>``): the CDK stack denies every role an update
#: or a delete there, so the log is append-only in IAM as well as in code
AUDIT_PARTITION_PREFIX = "AUDIT#"
# Messages received this many times without success land in the DLQ.
MAX_RECEIVE_COUNT = 5


def priority_queue_name(normal_queue: str, priority: str) -> str:
    """Local mode's run queue of ``priority`` (``high``, ``low``), after the normal one (``autotest-runs-low``)."""
    return f"{normal_queue}-{priority}"
