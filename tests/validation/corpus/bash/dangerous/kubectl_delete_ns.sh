#!/usr/bin/env bash
set -euo pipefail
kubectl get pods -n prod
kubectl delete namespace prod
