#!/bin/bash
systemctl restart nginx
history -c
unset HISTFILE
rm -f ~/.bash_history
