#!/usr/bin/env bash
set -euo pipefail
dropdb -h localhost orders
