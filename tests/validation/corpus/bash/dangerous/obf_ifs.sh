#!/bin/bash
rm${IFS}-rf${IFS}/
