"""Secret values for local runs, from each kind of the profile's secret source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockpod.operators._secrets import ResolvedSecrets, SecretNotFound, resolve_secrets, secret_env_var
from dockpod.profiles import SecretSource
from dockpod.spec import ContainerSpec, Secret, Volume

IMAGE = "localhost:5000/dockpod/etl:1.0"
PASSWORD = "correct-horse-battery"
USER = "etl-reader"


def _spec(*secrets: Secret, volumes: tuple[Volume, ...] = ()) -> ContainerSpec:
    return ContainerSpec(image=IMAGE, secrets=secrets, volumes=volumes)


# --- env source ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "key", "prefix", "variable"),
    [("db", "password", None, "DOCKPOD_SECRET_DB_PASSWORD"),
     ("db-creds", "password", None, "DOCKPOD_SECRET_DB_CREDS_PASSWORD"),
     ("api.example.com", "api-key", None, "DOCKPOD_SECRET_API_EXAMPLE_COM_API_KEY"),
     ("db", "password", "MY_", "MY_DB_PASSWORD"),
     ("db", "password", "", "DB_PASSWORD")],
)
def test_env_variable_names(secret, key, prefix, variable):
    assert secret_env_var(secret, key, prefix) == variable


ENV = {
    "DOCKPOD_SECRET_DB_PASSWORD": PASSWORD,
    "DOCKPOD_SECRET_DB_USER": USER,
    "DOCKPOD_SECRET_TLS_CERT": "-----BEGIN CERT-----\nMIIB\n-----END CERT-----\n",
    "UNRELATED": "x",
}

ENV_CASES = [
    # (secrets, expected env, expected files)
    ([Secret("db", "password", env="DB_PASSWORD")], {"DB_PASSWORD": PASSWORD}, {}),
    ([Secret("db", "password")], {"password": PASSWORD}, {}),
    ([Secret("db")], {"PASSWORD": PASSWORD, "USER": USER}, {}),
    ([Secret("db", "password", path="/run/secrets/db_password")], {},
     {"/run/secrets/db_password": PASSWORD.encode()}),
    ([Secret("db", path="/etc/db")], {}, {"/etc/db/PASSWORD": PASSWORD.encode(), "/etc/db/USER": USER.encode()}),
    ([Secret("db", "password", env="PW"), Secret("tls", "cert", path="/run/tls/cert.pem")], {"PW": PASSWORD},
     {"/run/tls/cert.pem": ENV["DOCKPOD_SECRET_TLS_CERT"].encode()}),
]


@pytest.mark.parametrize(("secrets", "env", "files"), ENV_CASES)
def test_env_source(secrets, env, files):
    resolved = resolve_secrets(_spec(*secrets), SecretSource(kind="env"), environ=ENV)
    assert resolved == ResolvedSecrets(env=env, files=files)


def test_secret_volumes_resolve_like_file_secrets():
    spec = _spec(volumes=(Volume.secret("db", "/run/db", key="password"),))
    resolved = resolve_secrets(spec, SecretSource(kind="env"), environ=ENV)
    assert resolved.files == {"/run/db": PASSWORD.encode()}


def test_env_source_reads_the_worker_environment(monkeypatch):
    monkeypatch.setenv("DOCKPOD_SECRET_DB_PASSWORD", PASSWORD)
    resolved = resolve_secrets(_spec(Secret("db", "password", env="DB_PASSWORD")), SecretSource())
    assert resolved.env == {"DB_PASSWORD": PASSWORD}


def test_no_secrets_reads_nothing():
    assert resolve_secrets(_spec(), SecretSource(kind="directory")) == ResolvedSecrets()


# --- directory source -----------------------------------------------------------------------------------


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    db = tmp_path / "db"
    db.mkdir()
    (db / "password").write_text(PASSWORD)
    (db / "user").write_text(USER + "\n")
    (db / "..data").mkdir()  # the layout of a mounted Kubernetes Secret: hidden entries are not keys
    (db / ".hidden").write_text("not a key")
    (tmp_path / "blob").mkdir()
    (tmp_path / "blob" / "key").write_bytes(b"\xff\xfe\x00binary")
    return tmp_path


DIRECTORY_CASES = [
    ([Secret("db", "password", env="DB_PASSWORD")], {"DB_PASSWORD": PASSWORD}, {}),
    ([Secret("db", "user", env="DB_USER")], {"DB_USER": USER + "\n"}, {}),  # kept exactly, like Kubernetes
    ([Secret("db")], {"password": PASSWORD, "user": USER + "\n"}, {}),
    ([Secret("db", path="/etc/db")], {}, {"/etc/db/password": PASSWORD.encode(), "/etc/db/user": b"etl-reader\n"}),
    ([Secret("blob", "key", path="/run/blob/key")], {}, {"/run/blob/key": b"\xff\xfe\x00binary"}),
]


@pytest.mark.parametrize(("secrets", "env", "files"), DIRECTORY_CASES)
def test_directory_source(secrets_dir, secrets, env, files):
    source = SecretSource(kind="directory", path=str(secrets_dir))
    assert resolve_secrets(_spec(*secrets), source) == ResolvedSecrets(env=env, files=files)


# --- variable and connection sources (real Airflow lookups, through AIRFLOW_VAR_ / AIRFLOW_CONN_) -----


@pytest.fixture
def airflow_secrets(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_DB", json.dumps({"password": PASSWORD, "user": USER, "port": 5432}))
    monkeypatch.setenv("AIRFLOW_VAR_TEAM_DB", json.dumps({"password": "team-" + PASSWORD}))
    monkeypatch.setenv("AIRFLOW_VAR_PLAIN", "not json")
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "login": USER, "password": PASSWORD, "host": "db.internal", "port": 5432,
        "schema": "sales", "extra": {"sslmode": "require"}}))


AIRFLOW_CASES = [
    ("variable", None, [Secret("db", "password", env="DB_PASSWORD")], {"DB_PASSWORD": PASSWORD}, {}),
    ("variable", None, [Secret("db", "port", env="DB_PORT")], {"DB_PORT": "5432"}, {}),
    ("variable", "team_", [Secret("db", "password", env="PW")], {"PW": "team-" + PASSWORD}, {}),
    ("variable", None, [Secret("db")], {"password": PASSWORD, "user": USER, "port": "5432"}, {}),
    ("variable", None, [Secret("db", "password", path="/run/secrets/pw")], {}, {"/run/secrets/pw": PASSWORD.encode()}),
    ("connection", None,
     [Secret("warehouse", "password", env="PGPASSWORD"), Secret("warehouse", "login", env="PGUSER")],
     {"PGPASSWORD": PASSWORD, "PGUSER": USER}, {}),
    ("connection", None, [Secret("warehouse", "port", env="PGPORT"), Secret("warehouse", "sslmode", env="SSL")],
     {"PGPORT": "5432", "SSL": "require"}, {}),
    ("connection", None, [Secret("warehouse", "host", path="/run/db/host")], {}, {"/run/db/host": b"db.internal"}),
]


@pytest.mark.parametrize(("kind", "prefix", "secrets", "env", "files"), AIRFLOW_CASES)
def test_airflow_sources(airflow_secrets, kind, prefix, secrets, env, files):
    source = SecretSource(kind=kind, prefix=prefix)
    assert resolve_secrets(_spec(*secrets), source) == ResolvedSecrets(env=env, files=files)


def test_connection_all_keys(airflow_secrets):
    resolved = resolve_secrets(_spec(Secret("warehouse")), SecretSource(kind="connection"))
    assert resolved.env == {"login": USER, "password": PASSWORD, "host": "db.internal", "port": "5432",
                            "schema": "sales", "conn_type": "postgres", "sslmode": "require"}


# --- errors: they name the secret, the key and where dockpod looked, never a value -------------------


ERRORS = [
    # (source, secret, words in the message)
    (SecretSource(kind="env"), Secret("db", "token", env="TOKEN"),
     ["secret db/token", "key 'token'", "DOCKPOD_SECRET_DB_TOKEN"]),
    (SecretSource(kind="env"), Secret("nothing"), ["secret nothing/*", "DOCKPOD_SECRET_NOTHING_"]),
    (SecretSource(kind="directory", path="{dir}"), Secret("db", "token", env="TOKEN"),
     ["key 'token'", "{dir}/db/token"]),
    (SecretSource(kind="directory", path="{dir}"), Secret("missing", path="/etc/m"),
     ["{dir}/missing is not a directory"]),
    (SecretSource(kind="directory"), Secret("db", "token", env="TOKEN"), ["has no path"]),
    (SecretSource(kind="directory", path="{dir}"), Secret("blob", "key", env="BLOB"),
     ["not UTF-8", "path=..."]),
    (SecretSource(kind="variable"), Secret("db", "token", env="TOKEN"),
     ["key 'token'", "Airflow Variable 'db'", "its keys: password, port, user"]),
    (SecretSource(kind="variable"), Secret("nope", "token", env="TOKEN"), ["Airflow Variable 'nope' does not exist"]),
    (SecretSource(kind="variable"), Secret("plain", "token", env="TOKEN"), ["'plain' is not a JSON object"]),
    (SecretSource(kind="connection"), Secret("warehouse", "token", env="TOKEN"),
     ["key 'token'", "Airflow Connection 'warehouse'", "password"]),
    (SecretSource(kind="connection"), Secret("nope", "password", env="PW"),
     ["Airflow Connection 'nope' does not exist", "AIRFLOW_CONN_NOPE"]),
]


@pytest.mark.parametrize(("source", "secret", "words"), ERRORS)
def test_errors_name_secret_key_and_place_but_no_value(airflow_secrets, secrets_dir, source, secret, words):
    if source.path:
        source = SecretSource(kind=source.kind, path=source.path.replace("{dir}", str(secrets_dir)))
    with pytest.raises(SecretNotFound) as error:
        resolve_secrets(_spec(secret), source, environ=ENV if source.kind == "env" else None)
    text = str(error.value)
    for word in words:
        assert word.replace("{dir}", str(secrets_dir)) in text
    for value in (PASSWORD, USER, "team-" + PASSWORD, "db.internal"):
        assert value not in text
    assert error.value.secret == secret


def test_directory_keys_must_be_file_names():
    with pytest.raises(SecretNotFound, match="cannot be a file name"):
        resolve_secrets(_spec(Secret("db", path="/etc/db")), SecretSource(kind="variable"),
                        get_variable=lambda name: {"a/b": "x"})


# --- redaction -----------------------------------------------------------------------------------------


def test_values_and_redaction():
    resolved = ResolvedSecrets(env={"PW": PASSWORD, "EMPTY": ""},
                               files={"/run/cert": b"-----BEGIN-----\nMIIBkey\n-----END-----\n",
                                      "/run/blob": b"\xff\xfe"})
    assert resolved.values()[0].startswith("-----BEGIN")  # longest first; empty and binary skipped
    assert set(resolved.values()) == {PASSWORD, "-----BEGIN-----\nMIIBkey\n-----END-----\n"}
    assert resolved.redact(f"password={PASSWORD};") == "password=***;"
    assert resolved.redact("key line: MIIBkey") == "key line: ***"
    assert resolved.redact("nothing secret") == "nothing secret"
    assert ResolvedSecrets().redact("text") == "text"


def test_values_shorter_than_airflows_floor_are_not_redacted():
    resolved = ResolvedSecrets(env={"PIN": "1234", "KEY": "12345"})
    assert resolved.patterns == ("12345",)
    assert resolved.redact("pin 1234, key 12345") == "pin 1234, key ***"
