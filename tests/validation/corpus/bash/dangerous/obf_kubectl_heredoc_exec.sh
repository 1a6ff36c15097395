#!/usr/bin/env bash
set -euo pipefail
kubectl exec -n prod deploy/api -- rm -rf /
