# The nsp application image (used by docker-compose.yml for migrate, worker, watch, dashboard).
# Installed editable so that sql/ and assets/ are found beside the code.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# chromium prints the weekly snapshot's summary.pdf (the workers run the scheduled export);
# without it the snapshot is written without the PDF ("pdf": false in its manifest).
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 chromium fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/nsp/app
COPY pyproject.toml requirements.lock README.md ./
COPY nsp ./nsp
COPY geo ./geo
COPY ingest ./ingest
COPY dashboard ./dashboard
COPY sql ./sql
COPY assets ./assets
RUN pip install --no-cache-dir -c requirements.lock -e . \
    && useradd --system --home /srv/nsp nsp && mkdir -p /srv/nsp/inbox /srv/nsp/exports \
    && chown -R nsp /srv/nsp
USER nsp
EXPOSE 8050
CMD ["nsp", "serve", "--host", "0.0.0.0", "--port", "8050"]
