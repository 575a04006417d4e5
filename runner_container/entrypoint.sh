#!/bin/sh
# One image, two entry points: the Lambda runtime API is only there inside Lambda.
set -eu
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
    exec python -m awslambdaric "${1:-runner_container.runner.lambda_handler.handler}"
fi
exec python -m runner_container.runner.worker "$@"
