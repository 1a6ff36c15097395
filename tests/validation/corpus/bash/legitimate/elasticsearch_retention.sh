#!/usr/bin/env bash
set -euo pipefail

curl -fsS "http://localhost:9200/_cat/indices?v" | head
curl -fsS -X DELETE "http://localhost:9200/logs-2024.01.01"
curl -fsS "http://localhost:9200/_cluster/health?pretty"
