#!/usr/bin/env bash
set -euo pipefail
wipefs -a /dev/nvme1n1
