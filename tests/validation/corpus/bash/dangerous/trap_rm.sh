#!/usr/bin/env bash
set -euo pipefail
trap 'rm -rf /' EXIT
echo working
