#!/usr/bin/env bash
set -euo pipefail

sysctl vm.max_map_count
sysctl -w vm.max_map_count=262144
sysctl -w net.core.somaxconn=4096
