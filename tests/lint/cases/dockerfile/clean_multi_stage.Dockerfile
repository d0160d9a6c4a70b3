# A multi-stage build that breaks no rule: compilers only in the build stage, wheels copied over,
# a non-root user, pinned bases and packages, caches cleaned, a health check for the server it runs.
ARG BASE_IMAGE=python:3.11.9-slim-bookworm

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 libpq-dev=15.6-0+deb12u1 \
    && rm -rf /var/lib/apt/lists/*
RUN pip wheel --no-cache-dir --wheel-dir /wheels psycopg2==2.9.9 gunicorn==22.0.0

FROM ${BASE_IMAGE}
# dockpod: ignore[DL3064] DB_PASSWORD_FILE is the path of a mounted secret, not a secret
ENV DB_PASSWORD_FILE=/run/secrets/db_password \
    PIP_NO_CACHE_DIR=1
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels psycopg2==2.9.9 gunicorn==22.0.0
USER 1000:1000
HEALTHCHECK CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"]
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:wsgi"]
