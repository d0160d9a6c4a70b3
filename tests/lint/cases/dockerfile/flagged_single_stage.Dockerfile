# Each line that must be flagged says which rules, in a comment: tests/lint/test_lint.py reads them.
# hadolint's own findings (DLxxxx) are expected where this file provokes them on purpose.
# expect-below: DP101
FROM python:3.11-slim

# expect-below: DP106 DL3064
ENV DB_PASSWORD=hunter2 \
    API_TOKEN_FILE=/run/secrets/token
# expect-below: DP106 DL3064
ARG GITHUB_TOKEN=ghp_example
# a public key fingerprint, not a secret: not flagged
ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D

# expect-below: DP104 DP105 DL3009 DL3015
RUN apt-get update \
    && apt-get install -y gcc=4:12.2.0-3 libpq-dev=15.6-0+deb12u1

# expect-below: DP105 DP109 DL3013 DL3042
RUN pip install psycopg2==2.9.9 requests

COPY requirements.txt /app/requirements.txt
# expect-below: DP109 (requirements.txt next to this file has an unpinned line)
RUN pip install --no-cache-dir -r /app/requirements.txt

# expect-below: DP107
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:wsgi"]
