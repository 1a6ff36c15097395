#!/usr/bin/env bash
set -euo pipefail

POD=web-7d9f8c6b5-x2k4q
kubectl get pod "$POD" -n prod -o wide
kubectl delete pod "$POD" -n prod --wait=true
kubectl get pods -n prod -l app=web
