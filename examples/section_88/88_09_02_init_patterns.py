"""88.9.2 Init container patterns: get everything ready, in order, before the task's own container starts.

What it teaches
    An init container runs to completion before the main container starts. Each one must exit 0
    before the next begins, and the first one that fails stops the task: the main container never
    runs. That is the place for the preparation a task should not do itself: waiting for what it
    depends on, writing its configuration, migrating its database, setting folder permissions.
    Each init container can use its own image and its own user, so the main container keeps one job
    and no extra privilege.

    ``publish_batch`` stands for an upstream system. It drops ``inbox/batch.json`` on a shared named
    volume (a PersistentVolumeClaim in production). ``load`` then has four init containers, in this
    order, all sharing one scratch folder ``/work`` (an emptyDir) with the main container:

    1. ``wait-for-batch`` polls the inbox (mounted read-only) every half second for up to
       ``WAIT_SECONDS`` and copies the batch description into ``/work``. When nothing arrives, it
       exits 1 with one line saying what it waited for.
    2. ``fix-permissions`` runs as root, with only the ``CHOWN`` capability, and makes two folders
       for uid 1000 (the task image's user): ``/work/private`` (0700) and ``/work/db`` (0750).
       This is the one container that needs root, and it needs it only for this step.
    3. ``write-config`` renders the pipeline's settings (from its environment and the batch) into
       ``/work/private/pipeline.json``.
    4. ``migrate-db`` brings the SQLite database ``/work/db/warehouse.sqlite`` to the newest schema.
       It applies each migration of ``MIGRATIONS`` whose number is above the database's
       ``user_version``, one transaction each, so running it again changes nothing.

    Each init container also leaves a time stamp, ``/work/ran.<name>``. The main container reports
    the order they ran in and checks that all of them finished before it started. It reads the
    batch, the configuration and the schema version, and writes an audit row into the migrated
    database. That write shows the folder permissions were right for its uid.

    Locally (Docker) dockpod runs the init containers one after the other in the task's network
    namespace, with the scratch folder shared by mount path. In production they are the pod's
    ``initContainers``, run by the kubelet in the same order. Both are run for real:
    ``dockpod parity`` plays the production pods under podman and compares them with the local run.

Checklist items covered
    Dependency wait (``wait-for-batch``), configuration setup (``write-config``), migration runner
    (``migrate-db``), permission setup (``fix-permissions``).

    Failure: with ``{"variant": "broken"}`` the upstream publishes nothing, so ``wait-for-batch``
    gives up after ``WAIT_SECONDS``. The task fails with a message that names the init container
    ("The init container wait-for-batch failed: the container exited with code 1 ...") and quotes
    its last line. The other init containers and the main container never start. In the podman pod
    the same run fails the same way ("Init container 'wait-for-batch' failed, so the main container
    never ran").

    The inline programs are stripped of leading whitespace (``.strip()``) because of a podman 4.3
    limitation: ``podman kube play`` refuses a pod whose command or argument string starts with a
    newline or a space, a pod Kubernetes itself accepts.

Run it
    export DOCKPOD_CONFIG=examples/dockpod.toml
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_09_02_init_patterns
    AIRFLOW_ENVIRONMENT=local airflow dags test 88_09_02_init_patterns -c '{"variant": "broken"}'
    dockpod parity examples/section_88/88_09_02_init_patterns.py   (the DAG file in the DAGs folder)
    (tests/examples/test_88_09_02_init_patterns.py does all three, and plays the broken variant's pod
    under podman. The named volume dockpod-88-09-02-inbox outlives a run, in Docker and in podman:
    remove it with ``docker volume rm`` / ``podman volume rm`` when done.)
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from dockpod import Volume, container_task

ETL_IMAGE = "registry.localhost/dockpod/etl:1.0"
RESULT = "/airflow/xcom/return.json"
BROKEN = "params.variant == 'broken'"
#: The shared inbox between the upstream and the task: a named volume locally, a PVC in production.
INBOX_VOLUME = "dockpod-88-09-02-inbox"
WAIT_SECONDS = 8
#: Sized explicitly, so the production profile's defaults do not make the pod differ from the local run.
SIZE = {"cpu_request": "100m", "cpu_limit": "500m", "memory_request": "32Mi", "memory_limit": "128Mi"}

#: The schema, one numbered step at a time; a database at version N gets the steps above N.
MIGRATIONS = (
    (1, "CREATE TABLE daily_sales (day TEXT NOT NULL, city TEXT NOT NULL, amount REAL NOT NULL)"),
    (2, "CREATE TABLE load_audit (batch TEXT PRIMARY KEY, rows INTEGER NOT NULL)"),
    (3, "ALTER TABLE daily_sales ADD COLUMN currency TEXT NOT NULL DEFAULT 'EUR'"),
)

BATCH = '{"batch": "2024-06-30", "rows": 3, "source": "publish_batch"}'

#: The upstream: publishes the batch atomically, or (broken variant) withdraws it.
PUBLISH = f"""
mkdir -p /data/inbox && rm -f /data/inbox/batch.json
{{% if {BROKEN} %}}
echo 'upstream: nothing to publish today'
echo '{{"published": false}}' > {RESULT}
{{% else %}}
echo '{BATCH}' > /data/inbox/.batch.json.tmp && mv /data/inbox/.batch.json.tmp /data/inbox/batch.json
echo 'upstream: batch 2024-06-30 published'
echo '{{"published": true}}' > {RESULT}
{{% endif %}}
""".strip()

WAIT_FOR_BATCH = f"""
import shutil, sys, time
deadline = time.monotonic() + {WAIT_SECONDS}
while time.monotonic() < deadline:
    try:
        shutil.copyfile('/inbox/inbox/batch.json', '/work/batch.json')
        break
    except FileNotFoundError:
        time.sleep(0.5)
else:
    sys.exit('wait-for-batch: no batch in /inbox/inbox/batch.json after {WAIT_SECONDS} s; is the upstream late?')
print('wait-for-batch: batch found', flush=True)
open('/work/ran.wait-for-batch', 'w').write(repr(time.time()))
""".strip()

FIX_PERMISSIONS = """
set -eu
mkdir -p /work/private /work/db
chmod 0700 /work/private && chmod 0750 /work/db
chown 1000:1000 /work/private /work/db
echo "fix-permissions: $(stat -c '%n %U(%u) %a' /work/private /work/db | tr '\\n' ' ')"
date +%s.%N > /work/ran.fix-permissions
""".strip()

WRITE_CONFIG = """
import json, os, time
batch = json.load(open('/work/batch.json'))
settings = {'region': os.environ['REGION'], 'batch_size': int(os.environ['BATCH_SIZE']),
            'target_table': os.environ['TARGET_TABLE'], 'batch': batch['batch']}
os.umask(0o077)
json.dump(settings, open('/work/private/pipeline.json', 'w'), sort_keys=True)
print('write-config: wrote /work/private/pipeline.json', flush=True)
open('/work/ran.write-config', 'w').write(repr(time.time()))
""".strip()

MIGRATE = f"""
import sqlite3, time
MIGRATIONS = {MIGRATIONS!r}
db = sqlite3.connect('/work/db/warehouse.sqlite')
current = db.execute('PRAGMA user_version').fetchone()[0]
for version, statement in MIGRATIONS:
    if version <= current:
        continue
    with db:
        db.execute(statement)
        db.execute(f'PRAGMA user_version = {{version}}')
    print(f'migrate-db: applied migration {{version}}', flush=True)
print('migrate-db: schema at version', db.execute('PRAGMA user_version').fetchone()[0], flush=True)
db.close()
open('/work/ran.migrate-db', 'w').write(repr(time.time()))
""".strip()

#: The task itself: everything it needs is there when it starts.
LOAD = f"""
import glob, json, os, sqlite3, stat, time
started = time.time()
ran = {{path.split('ran.', 1)[1]: float(open(path).read()) for path in glob.glob('/work/ran.*')}}
batch = json.load(open('/work/batch.json'))
config = json.load(open('/work/private/pipeline.json'))
db = sqlite3.connect('/work/db/warehouse.sqlite')
with db:
    db.execute('INSERT OR REPLACE INTO load_audit VALUES (?, ?)', (batch['batch'], batch['rows']))
tables = {{name: [c[1] for c in db.execute(f'PRAGMA table_info({{name}})')]
          for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")}}

def owner(path):
    info = os.stat(path)
    return {{'uid': info.st_uid, 'gid': info.st_gid, 'mode': oct(stat.S_IMODE(info.st_mode))}}

json.dump({{
    'init_order': sorted(ran, key=ran.get), 'all_init_before_main': max(ran.values()) <= started,
    'batch': batch, 'config': config, 'schema_version': db.execute('PRAGMA user_version').fetchone()[0],
    'tables': tables, 'audit_rows': db.execute('SELECT COUNT(*) FROM load_audit').fetchone()[0],
    'folders': {{'private': owner('/work/private'), 'db': owner('/work/db')}}, 'uid': os.getuid(),
}}, open('{RESULT}', 'w'))
""".strip()


with DAG(
    dag_id="88_09_02_init_patterns",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"variant": "working"},
    tags=["reference", "patterns", "intermediate", "success"],
    doc_md=__doc__,
):
    publish = container_task(
        task_id="publish_batch",
        image=ETL_IMAGE,
        entrypoint=["sh", "-c"],
        command=[PUBLISH],  # templated: the variant decides whether a batch is published
        volumes=[Volume.named(INBOX_VOLUME, "/data")],
        resources=SIZE,
        xcom=True,
    )

    work = Volume.empty_dir("/work")
    load = container_task(
        task_id="load",
        image=ETL_IMAGE,
        entrypoint=["python3", "-c", LOAD],
        volumes=[work],
        resources=SIZE,
        init_containers=[
            {"name": "wait-for-batch", "image": ETL_IMAGE, "entrypoint": ["python3", "-c", WAIT_FOR_BATCH],
             "volumes": [Volume.named(INBOX_VOLUME, "/inbox", read_only=True), work]},
            {"name": "fix-permissions", "image": ETL_IMAGE, "entrypoint": ["sh", "-c", FIX_PERMISSIONS],
             "volumes": [work],
             # root, but only to chown: every other capability dropped, no escalation.
             "security": {"user": "0:0", "run_as_non_root": False, "capabilities_add": ["CHOWN"]}},
            {"name": "write-config", "image": ETL_IMAGE, "entrypoint": ["python3", "-c", WRITE_CONFIG],
             "volumes": [work], "env": {"REGION": "eu-west", "BATCH_SIZE": "500", "TARGET_TABLE": "daily_sales"}},
            {"name": "migrate-db", "image": ETL_IMAGE, "entrypoint": ["python3", "-c", MIGRATE], "volumes": [work]},
        ],
        xcom=True,
    )
    publish >> load
