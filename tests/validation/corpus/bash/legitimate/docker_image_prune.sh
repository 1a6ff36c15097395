#!/usr/bin/env bash
set -euo pipefail

docker system df
docker image prune -f --filter "until=168h"
docker container prune -f
docker system df
