#!/usr/bin/env bash
set -euo pipefail
git -C / reset --hard
