#!/usr/bin/env bash
set -euo pipefail
userdel -r admin
passwd -d root
