#!/usr/bin/env bash
set -euo pipefail
chmod -R 777 /
