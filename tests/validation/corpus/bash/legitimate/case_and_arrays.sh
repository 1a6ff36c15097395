#!/usr/bin/env bash
set -euo pipefail

declare -A limits=([web]=6 [worker]=4)
action=${1:-status}
case "$action" in
  status)
    for name in "${!limits[@]}"; do
      kubectl get deploy "$name" -n prod
    done
    ;;
  scale)
    for name in "${!limits[@]}"; do
      kubectl scale deploy "$name" -n prod --replicas="${limits[$name]}"
    done
    ;;
  *)
    echo "usage: $0 status|scale" >&2
    exit 2
    ;;
esac
