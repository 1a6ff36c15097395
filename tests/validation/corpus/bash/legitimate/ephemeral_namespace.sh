#!/usr/bin/env bash
set -euo pipefail

kubectl get ns preview-pr-1234
kubectl delete namespace preview-pr-1234
