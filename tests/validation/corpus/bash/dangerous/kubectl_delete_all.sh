#!/usr/bin/env bash
set -euo pipefail
kubectl delete all --all -A
