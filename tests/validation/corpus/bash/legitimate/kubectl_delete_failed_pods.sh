#!/usr/bin/env bash
set -euo pipefail

kubectl get pods -n jobs --field-selector=status.phase==Failed
kubectl delete pod --field-selector=status.phase==Failed -n jobs
