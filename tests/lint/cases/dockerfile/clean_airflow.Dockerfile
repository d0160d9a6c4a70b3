# An Airflow image on an exact version: apache/airflow runs as the airflow user already.
FROM apache/airflow:3.3.2-python3.11
RUN pip install --no-cache-dir apache-airflow==3.3.2 apache-airflow-providers-docker==4.6.1
HEALTHCHECK NONE
CMD ["scheduler"]
