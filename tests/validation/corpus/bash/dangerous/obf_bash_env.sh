#!/usr/bin/env bash
set -euo pipefail
BASH_ENV=/tmp/e bash -c 'echo hi'
