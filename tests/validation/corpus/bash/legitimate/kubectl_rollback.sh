#!/usr/bin/env bash
set -euo pipefail

kubectl rollout history deployment/payments -n prod
kubectl rollout undo deployment/payments -n prod
kubectl rollout status deployment/payments -n prod --timeout=5m
