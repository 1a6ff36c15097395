#!/usr/bin/env bash
set -euo pipefail

helm history web -n prod --max 5
helm rollback web 41 -n prod --wait
helm status web -n prod
