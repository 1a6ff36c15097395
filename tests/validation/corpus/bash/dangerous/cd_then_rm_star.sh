#!/bin/bash
cd /opt/app/releases
rm -rf *
systemctl restart app
