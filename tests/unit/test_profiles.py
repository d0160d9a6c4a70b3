import pytest

from dockpod.errors import ProfileError
from dockpod.profiles import get_profile, load_profiles


def test_builtin_profiles(monkeypatch):
    monkeypatch.delenv("AIRFLOW_ENVIRONMENT", raising=False)
    assert get_profile().name == "local"
    assert get_profile().backend == "docker"
    assert {"local", "staging", "production"} <= set(load_profiles())
    assert get_profile("production").backend == "kubernetes"


def test_environment_variable_picks_the_profile(monkeypatch):
    monkeypatch.setenv("AIRFLOW_ENVIRONMENT", "staging")
    assert get_profile().name == "staging"


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(ProfileError) as info:
        get_profile("prod")
    assert "local, production, staging" in str(info.value)
    assert "[profiles.prod]" in str(info.value)


def test_toml_overrides_and_adds(tmp_path, monkeypatch):
    config = tmp_path / "dockpod.toml"
    config.write_text(
        '[profiles.production]\nnamespace = "data"\nregistry_rewrites = { "registry.localhost" = "reg.corp" }\n'
        '[profiles.production.default_resources]\nmemory_limit = "1Gi"\n'
        '[profiles.qa]\nbackend = "kubernetes"\nnamespace = "qa"\n'
    )
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    prod = get_profile("production")
    assert prod.namespace == "data"
    assert prod.host_path == "warn"  # built-in values that the file does not override stay
    assert prod.default_resources.memory_limit == 1024**3
    assert prod.rewrite_image("registry.localhost/team/etl:1") == "reg.corp/team/etl:1"
    assert get_profile("qa").namespace == "qa"


def test_config_is_found_next_to_the_dag_folder(tmp_path, monkeypatch):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dockpod.toml").write_text('[profiles.local]\nnetwork = "edge"\n')
    monkeypatch.delenv("DOCKPOD_CONFIG", raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path / "dags"))
    monkeypatch.chdir(tmp_path / "dags")
    assert get_profile("local").network == "edge"


@pytest.mark.parametrize(("text", "words"), [
    ("[profiles.production\n", "cannot be read"),
    ('[profiles.production]\nbackend = "nomad"\n', "backend"),
    ('[profiles.production]\ndefault_resources = { memory_limit = "lots" }\n', "memory_limit"),
    ('[profiles.production]\nnamespcae = "x"\n', "namespcae"),
])
def test_bad_config_is_one_clear_error(tmp_path, monkeypatch, text, words):
    config = tmp_path / "dockpod.toml"
    config.write_text(text)
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    with pytest.raises(ProfileError, match=words):
        get_profile("production")


def test_missing_config_file_named(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKPOD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ProfileError, match="not a file"):
        get_profile("local")


def test_rewrite_matches_whole_registry_names_only():
    local = get_profile("local")
    assert local.rewrite_image("registry.localhost/a:1") == "localhost:5000/a:1"
    assert local.rewrite_image("registry.localhostx/a:1") == "registry.localhostx/a:1"


def test_toml_values_name_environment_variables_as_compose_does(tmp_path, monkeypatch):
    config = tmp_path / "dockpod.toml"
    config.write_text('[profiles.local]\nnetwork = "${EDGE_NETWORK:-dockpod-dev-edge}"\n'
                      'labels = { team = "$TEAM", cost = "$$5" }\n'
                      'secrets = { kind = "directory", path = "${SECRETS}/dockpod" }\n')
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    monkeypatch.setenv("TEAM", "data")
    monkeypatch.setenv("SECRETS", "/run/secrets")
    monkeypatch.delenv("EDGE_NETWORK", raising=False)
    local = get_profile("local")
    assert local.network == "dockpod-dev-edge"
    assert local.labels == {"team": "data", "cost": "$5"}
    assert local.secrets.path == "/run/secrets/dockpod"
    monkeypatch.setenv("EDGE_NETWORK", "dp-run-7-edge")  # same file, new value: not served from the cache
    assert get_profile("local").network == "dp-run-7-edge"


@pytest.mark.parametrize(("value", "words"), [
    ('"${EDGE_NETWORK}"', r"uses \$\{EDGE_NETWORK\}, which is not set"),
    ('"cost $5"', "names no variable"),
])
def test_toml_variable_errors_name_the_value_and_the_fix(tmp_path, monkeypatch, value, words):
    config = tmp_path / "dockpod.toml"
    config.write_text(f"[profiles.local]\nnetwork = {value}\n")
    monkeypatch.setenv("DOCKPOD_CONFIG", str(config))
    monkeypatch.delenv("EDGE_NETWORK", raising=False)
    with pytest.raises(ProfileError, match=words) as info:
        get_profile("local")
    assert "profiles.local.network" in str(info.value)
