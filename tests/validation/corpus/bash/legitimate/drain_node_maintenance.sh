#!/usr/bin/env bash
set -euo pipefail

NODE=node-7
kubectl cordon "$NODE"
kubectl drain "$NODE" --ignore-daemonsets --delete-emptydir-data --timeout=5m
kubectl get node "$NODE"
