# Each line that must be flagged is announced by the comment line above it (a Dockerfile has no trailing
# comments: `# ...` after an instruction would be part of its arguments).
ARG BUILDER=localhost:5000/dockpod/debian
ARG AIRFLOW_IMAGE=apache/airflow:3.3

# expect-below: DP102 (no DP103: latest is no pin to keep; judged by the ARG's default; the build stage's caches are not shipped)
FROM ${BUILDER} AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 \
    && rm -rf /var/lib/apt/lists/*

# expect-below: DP102 DL3007
FROM debian:latest AS tools
RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u5 \
    && rm -rf /var/lib/apt/lists/*

# expect-below: DP108
FROM ${AIRFLOW_IMAGE}
COPY --from=build /usr/bin/true /usr/local/bin/true
# expect-below: DP108 (a constraints file is given, so DP109 does not apply)
RUN pip install --no-cache-dir "apache-airflow[celery]>=3.3" -c /constraints.txt
# expect-below: DP101 DL3002 DL3066
USER root
# expect-below: DP107
CMD ["scheduler"]
