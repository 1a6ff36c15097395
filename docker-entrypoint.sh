#!/bin/sh
# web | worker | beat | migrate | any manage.py command
set -eu
case "${1:-web}" in
  web) exec daphne -b 0.0.0.0 -p "${PORT:-8000}" config.asgi:application ;;
  worker) exec celery -A config worker -Q default,generation,validation,execution,notifications --loglevel INFO ;;
  beat) exec celery -A config beat --loglevel INFO --schedule /var/lib/remediation/celerybeat-schedule ;;
  migrate) exec python manage.py migrate --noinput ;;
  *) exec python manage.py "$@" ;;
esac
