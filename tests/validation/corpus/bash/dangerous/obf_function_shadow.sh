#!/usr/bin/env bash
set -euo pipefail
cleanup() {
  rm -rf "$1"
}
cleanup /
