# smsrelay: the bot in a small image. Build: docker build -t smsrelay .
# Run:   docker run -d --name smsrelay --env-file .env -v smsrelay-data:/data --restart unless-stopped \
#            --stop-timeout 30 smsrelay
# Stopping: `docker stop` sends SIGTERM and kills the container --stop-timeout seconds later (10 by default). The bot
# finishes within SHUTDOWN_GRACE_SECONDS (8 by default): batches still with the provider then are cut and marked
# unknown. Give it more room with `docker run --stop-timeout 30` (compose: `stop_grace_period: 30s`) and
# SHUTDOWN_GRACE_SECONDS=25, so slow batches can finish; keep the grace a few seconds below the stop timeout.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/smsrelay.db \
    HTTP_HOST=0.0.0.0

WORKDIR /app
# The dependencies first, read from pyproject.toml alone: a change to the code reuses this layer instead of
# reinstalling them. The user and its folders do not depend on the code either.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt 'setuptools>=70.1' \
    && rm /tmp/requirements.txt \
    && useradd --create-home --uid 10001 smsrelay \
    && mkdir -p /data /backups \
    && chown smsrelay:smsrelay /data /backups
# Then the code, installed without its dependencies (already there) and without a build environment download.
COPY README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install --no-deps --no-build-isolation .

USER smsrelay
# /backups: for BACKUP_DIR=/backups (README "Backups and retention"); mount another disk there.
VOLUME ["/data"]
# Python is PID 1 (exec form, no shell in between), so SIGTERM reaches the bot itself.
STOPSIGNAL SIGTERM
# /healthz when HTTP_PORT is set (urllib: slim has no curl; a standby answers 200 too); without the HTTP server there
# is nothing to ask: healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; p = os.environ.get('HTTP_PORT', ''); sys.exit(0 if not p else (0 if u.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=4).status == 200 else 1))"]
CMD ["python", "-m", "bot"]
