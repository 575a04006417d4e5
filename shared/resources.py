"""Names of the AWS resources, shared by ``provision()`` (local mode, tests) and the CDK stack."""

TABLE_NAME = "autotest"
RUN_QUEUE_NAME = "autotest-runs"
RUN_DLQ_NAME = "autotest-runs-dlq"
#: plan requests (a proposal to fill, a goal-only run to plan) for the planner worker
PLAN_QUEUE_NAME = "autotest-plans"
PLAN_DLQ_NAME = "autotest-plans-dlq"
#: the notifier's queue: run and suite-run events (an EventBridge rule targets it) and delivery attempts
NOTIFY_QUEUE_NAME = "autotest-notifications"
NOTIFY_DLQ_NAME = "autotest-notifications-dlq"
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
# Messages received this many times without success land in the DLQ.
MAX_RECEIVE_COUNT = 5
