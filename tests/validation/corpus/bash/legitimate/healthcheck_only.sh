#!/usr/bin/env bash
set -euo pipefail

curl -fsS http://localhost:8080/healthz
curl -fsS http://localhost:8080/readyz
df -h /
free -m
uptime
