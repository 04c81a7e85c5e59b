#!/usr/bin/env bash
# Runs the whole test suite. The tests start their own private PostgreSQL and Redis
# (from the installed server binaries, on free loopback ports, in temp dirs), so this
# only makes sure those binaries are installed (RabbitMQ's too, for the events tests),
# and the tools of the deployment and web tests (chromium among them). Extra arguments
# go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages
ensure_rabbitmq
ensure_deploy_tools
ensure_web_tools
exec cargo test --workspace --locked "$@"
