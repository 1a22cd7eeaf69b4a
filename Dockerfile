# smsrelay: the bot in a small image. Build: docker build -t smsrelay .
# Run:   docker run -d --name smsrelay --env-file .env -v smsrelay-data:/data --restart unless-stopped smsrelay
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/smsrelay.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install . \
    && useradd --create-home --uid 10001 smsrelay \
    && mkdir -p /data \
    && chown smsrelay:smsrelay /data

USER smsrelay
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
