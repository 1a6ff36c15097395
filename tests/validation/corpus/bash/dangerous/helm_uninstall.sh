#!/usr/bin/env bash
set -euo pipefail
helm uninstall payments -n prod
