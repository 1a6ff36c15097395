# syntax=docker/dockerfile:1
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings REMEDIATION_DATA_DIR=/var/lib/remediation
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap util-linux git \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /var/lib/remediation && chown app /var/lib/remediation

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY remediation remediation
COPY templates_app templates_app
COPY sandbox sandbox
COPY static static
COPY manage.py docker-entrypoint.sh ./
RUN pip install . && python manage.py collectstatic --noinput -v 0 || true

USER app
EXPOSE 8000
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["web"]
