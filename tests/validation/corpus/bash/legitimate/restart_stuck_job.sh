#!/usr/bin/env bash
set -euo pipefail

kubectl get job stuck-migration-123 -n batch
kubectl delete job stuck-migration-123 -n batch
kubectl get jobs -n batch
