#!/usr/bin/env bash
set -euo pipefail

kubectl get hpa -n prod
kubectl scale deploy web --replicas=6 -n prod
kubectl rollout status deploy/web -n prod
