"""Names that look like secrets: one rule for every file kind (env in DAGs, manifests, compose, Dockerfiles)."""

from __future__ import annotations

import re

__all__ = ["SECRET_NAME", "SECRET_REFERENCE", "is_secret_name"]

#: Names of variables that hold secrets. A bare ``KEY`` is left out on purpose (``GPG_KEY`` in the
#: official python images is a public key fingerprint).
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|FERNET_?KEY|"
                         r"CREDENTIALS?|AUTH_?KEY", re.I)
#: Suffixes that make such a name a reference to a secret kept elsewhere (a file, a command, a name), or
#: something that is not the secret itself (its URL, its user).
SECRET_REFERENCE = ("_FILE", "_CMD", "_SECRET", "_PATH", "_DIR", "_NAME", "_ID", "_USER", "_USERNAME", "_URL",
                    "_URI", "_ENDPOINT", "_TYPE")


#: Airflow's configuration variables: only the option (after the section) says what the value is.
AIRFLOW_OPTION = re.compile(r"^AIRFLOW__[A-Z0-9_]+?__([A-Z0-9_]+)$")


def is_secret_name(name: str) -> bool:
    """True for a variable name that looks like it holds a secret (and is not a reference to one).

    ``AIRFLOW__SECTION__OPTION`` is judged by its option alone (``AIRFLOW__SECRETS__BACKEND`` names a class), and
    Airflow's own suffixes make a reference: ``_CMD`` always, ``_SECRET`` when what precedes it is itself a secret's
    name (``..._JWT_SECRET_SECRET``; while ``AIRFLOW__API_AUTH__JWT_SECRET`` is the value).
    """
    upper = name.upper()
    airflow = AIRFLOW_OPTION.match(upper)
    if airflow:
        option = airflow.group(1)
        if option.endswith("_CMD"):
            return False
        if option.endswith("_SECRET") and SECRET_NAME.search(option[: -len("_SECRET")]):
            return False
        return bool(SECRET_NAME.search(option))
    return bool(SECRET_NAME.search(upper)) and not upper.endswith(SECRET_REFERENCE)
