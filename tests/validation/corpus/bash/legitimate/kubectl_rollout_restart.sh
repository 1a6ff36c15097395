#!/usr/bin/env bash
set -euo pipefail

NS=prod
DEPLOY=web
kubectl -n "$NS" get deploy "$DEPLOY"
kubectl -n "$NS" rollout restart deployment/"$DEPLOY"
kubectl -n "$NS" rollout status deployment/"$DEPLOY" --timeout=300s
kubectl -n "$NS" get pods -l app="$DEPLOY"
