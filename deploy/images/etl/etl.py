"""A small ETL program for dockpod's demo pipeline ``portable_pipeline`` (extract >> transform >> load).

The same image runs as a DockerOperator task locally and as a KubernetesPodOperator pod in production, so
everything it needs comes from the command line, environment variables and a shared ``/data`` volume.

Subcommands (see ``etl.py SUBCOMMAND --help``):

* ``extract --rows N``     write N deterministic records (id, city, amount) to a JSON file
* ``transform``            filter records and add derived fields (optionally check the row count)
* ``load``                 write the records as CSV and report its sha256 checksum
* ``env``                  report runtime facts (uid, gid, cwd, chosen env vars, writable paths)
* ``sleep SECONDS``        sleep (for timeout and kill tests); exits promptly on SIGTERM
* ``alloc MEGABYTES``      allocate and touch memory (to provoke an OOM kill under a memory limit)
* ``exit CODE``            exit with the given code

Each subcommand logs human-readable lines to stdout and writes its result as JSON to the file named by
the environment variable ``DOCKPOD_XCOM_PATH``, else to ``/airflow/xcom/return.json`` (where
KubernetesPodOperator's XCom sidecar looks); ``--no-result`` skips that.

Exit codes: 0 success; 1 bad input (missing or malformed file); 2 usage error; 3 a check requested on the
command line failed (``--expect-rows``, ``--secret-env``); 4 the result file could not be written;
143 terminated by SIGTERM; anything else from ``exit CODE``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_RESULT_PATH = "/airflow/xcom/return.json"
RESULT_PATH_ENV = "DOCKPOD_XCOM_PATH"
CITIES = ("Amsterdam", "Berlin", "Lisbon", "Madrid", "Oslo", "Paris", "Prague", "Vienna")

EXIT_BAD_INPUT = 1
EXIT_CHECK_FAILED = 3
EXIT_RESULT_UNWRITABLE = 4


class EtlError(Exception):
    """An expected failure: reported as one line on stderr and turned into the given exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        """Keep the message and the exit code to leave with."""
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------------------------
# small helpers


def log(message: str) -> None:
    """Log one human-readable line to stdout (flushed, so container logs stream)."""
    print(f"etl: {message}", flush=True)


def warn(message: str) -> None:
    """Log one warning line to stderr."""
    print(f"etl: warning: {message}", file=sys.stderr, flush=True)


def write_atomically(path: Path, data: bytes) -> None:
    """Write data to path through a temporary file in the same folder, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read the JSON list of records written by an earlier step."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EtlError(
            f"input file {path} does not exist (did the previous step run on this volume?)"
        ) from None
    except (OSError, ValueError) as exc:
        raise EtlError(f"cannot read records from {path}: {exc}") from None
    if not isinstance(records, list):
        raise EtlError(f"{path} holds {type(records).__name__}, expected a JSON list of records")
    return records


def write_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Write records as a JSON list (one record per line, for readable diffs and logs)."""
    lines = ",\n".join(json.dumps(record, sort_keys=True) for record in records)
    write_atomically(path, f"[\n{lines}\n]\n".encode() if records else b"[]\n")


def total(records: Sequence[dict[str, Any]]) -> float:
    """Sum of the records' amounts, rounded to cents."""
    return round(sum(float(record["amount"]) for record in records), 2)


def result_path() -> Path:
    """Where the result goes: $DOCKPOD_XCOM_PATH, else KubernetesPodOperator's XCom file."""
    return Path(os.environ.get(RESULT_PATH_ENV) or DEFAULT_RESULT_PATH)


def write_result(result: dict[str, Any]) -> None:
    """Write the result JSON; a missing folder that cannot be created is only a warning."""
    path = result_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        warn(
            f"result not written: cannot create {path.parent} ({exc.strerror}); result: {json.dumps(result)}"
        )
        return
    try:
        write_atomically(path, json.dumps(result, sort_keys=True).encode())
    except OSError as exc:
        raise EtlError(
            f"cannot write result to {path}: {exc.strerror} (uid {os.getuid()} needs write access to "
            f"{path.parent}; set {RESULT_PATH_ENV} or pass --no-result)",
            EXIT_RESULT_UNWRITABLE,
        ) from None
    log(f"result written to {path}")


# --------------------------------------------------------------------------------------------------------
# subcommands: each takes the parsed arguments and returns its result


def record_for(seed: int, index: int) -> dict[str, Any]:
    """Make record number index (1-based) for a seed: same input, same record, everywhere."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    cents = 100 + int.from_bytes(digest[:4], "big") % 100_000
    return {"id": index, "city": CITIES[digest[4] % len(CITIES)], "amount": cents / 100}


def cmd_extract(args: argparse.Namespace) -> dict[str, Any]:
    """Write args.rows deterministic records to args.out."""
    if args.secret_env:
        value = os.environ.get(args.secret_env)
        if not value:
            raise EtlError(
                f"secret {args.secret_env} missing (the environment variable is unset or empty)",
                EXIT_CHECK_FAILED,
            )
        # Presence and length only: the value itself is never logged or returned.
        log(f"secret {args.secret_env} present ({len(value)} chars)")
    records = [record_for(args.seed, index) for index in range(1, args.rows + 1)]
    out = Path(args.out)
    write_records(out, records)
    log(f"extracted {len(records)} rows (seed {args.seed}, total amount {total(records):.2f}) to {out}")
    return {"rows": len(records), "path": str(out)}


def amount_band(amount: float) -> str:
    """Classify an amount: small below 100, medium below 500, large otherwise."""
    if amount < 100:
        return "small"
    if amount < 500:
        return "medium"
    return "large"


def cmd_transform(args: argparse.Namespace) -> dict[str, Any]:
    """Keep the records with amount >= args.min_amount and add city_code and amount_band."""
    records = read_records(Path(args.input))
    log(f"read {len(records)} rows from {args.input}")
    if args.expect_rows is not None and len(records) != args.expect_rows:
        raise EtlError(
            f"expected {args.expect_rows} rows in {args.input}, found {len(records)}", EXIT_CHECK_FAILED
        )
    try:
        kept = [
            {
                **record,
                "city_code": str(record["city"])[:3].upper(),
                "amount_band": amount_band(record["amount"]),
            }
            for record in records
            if float(record["amount"]) >= args.min_amount
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise EtlError(f"malformed record in {args.input}: {exc!r}") from None
    out = Path(args.out)
    write_records(out, kept)
    log(f"kept {len(kept)} of {len(records)} rows with amount >= {args.min_amount:g}, wrote {out}")
    return {"rows_in": len(records), "rows_out": len(kept), "total_amount": total(kept)}


CSV_COLUMNS = ("id", "city", "city_code", "amount", "amount_band")


def cmd_load(args: argparse.Namespace) -> dict[str, Any]:
    """Write the records as CSV (fixed columns, Unix line ends) and report the file's sha256."""
    records = read_records(Path(args.input))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    try:
        for record in records:
            row = {**record, "amount": f"{float(record['amount']):.2f}"}
            writer.writerow([row.get(column, "") for column in CSV_COLUMNS])
    except (KeyError, TypeError, ValueError) as exc:
        raise EtlError(f"malformed record in {args.input}: {exc!r}") from None
    data = buffer.getvalue().encode()
    out = Path(args.out)
    write_atomically(out, data)
    checksum = hashlib.sha256(data).hexdigest()
    log(f"loaded {len(records)} rows into {out} (sha256 {checksum[:12]}...)")
    return {"rows": len(records), "total_amount": total(records), "checksum": checksum}


def is_writable(path: str) -> bool:
    """Whether this process can create a file in path (a folder) or write path (a file), by trying it."""
    target = Path(path)
    if target.is_dir():
        try:
            with tempfile.TemporaryFile(dir=target):
                return True
        except OSError:
            return False
    return os.access(target, os.W_OK) if target.exists() else is_writable(str(target.parent))


def cmd_env(args: argparse.Namespace) -> dict[str, Any]:
    """Report uid, gid, cwd, the env vars named by --var and whether the --writable paths are writable."""
    result = {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "cwd": os.getcwd(),
        "env": {name: os.environ.get(name) for name in args.var},
        "writable": {path: is_writable(path) for path in args.writable},
    }
    log(f"uid={result['uid']} gid={result['gid']} cwd={result['cwd']}")
    for name, value in result["env"].items():
        log(f"env {name}={'(unset)' if value is None else value}")
    for path, ok in result["writable"].items():
        log(f"{path} is {'writable' if ok else 'not writable'}")
    return result


def cmd_sleep(args: argparse.Namespace) -> dict[str, Any]:
    """Sleep args.seconds (SIGTERM ends it at once, see main)."""
    log(f"sleeping {args.seconds:g} s")
    time.sleep(args.seconds)
    log("done sleeping")
    return {"slept_seconds": args.seconds}


def cmd_alloc(args: argparse.Namespace) -> dict[str, Any]:
    """Allocate args.megabytes MiB and write to every page, so the memory is really in use."""
    chunk = 1024 * 1024
    held = []
    for done in range(1, args.megabytes + 1):
        held.append(b"\x01" * chunk)  # filled, so every page is touched (not lazily mapped zeros)
        if done % 64 == 0 or done == args.megabytes:
            log(f"allocated {done} MB")
    if args.hold:
        log(f"holding {args.megabytes} MB for {args.hold:g} s")
        time.sleep(args.hold)
    return {"allocated_mb": len(held)}


def cmd_exit(args: argparse.Namespace) -> dict[str, Any]:
    """Return the requested exit code (main exits with it after writing the result)."""
    log(f"exiting with code {args.code}")
    return {"exit_code": args.code}


# --------------------------------------------------------------------------------------------------------
# command line


def non_negative_int(text: str) -> int:
    """Argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """Argparse type: a number >= 0."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser, one subparser per subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--no-result",
        action="store_true",
        help=f"do not write the result JSON (else ${RESULT_PATH_ENV} or {DEFAULT_RESULT_PATH})",
    )

    parser = argparse.ArgumentParser(
        prog="etl",
        description="Demo ETL steps for dockpod's portable_pipeline.",
        epilog=f"Results go to ${RESULT_PATH_ENV} if set, else {DEFAULT_RESULT_PATH}.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], dict[str, Any]], help_text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        command.set_defaults(func=func)
        return command

    extract = add("extract", cmd_extract, "write N deterministic records (id, city, amount) as JSON")
    extract.add_argument("--rows", type=non_negative_int, required=True, help="number of records")
    extract.add_argument("--out", default="/data/raw.json", help="output JSON file (default: %(default)s)")
    extract.add_argument("--seed", type=int, default=42, help="seed of the records (default: %(default)s)")
    extract.add_argument(
        "--secret-env",
        metavar="NAME",
        help="require this env var to be set (its presence and length are logged, never its value)",
    )

    transform = add("transform", cmd_transform, "filter records and add city_code and amount_band")
    transform.add_argument(
        "--in", dest="input", default="/data/raw.json", help="input JSON (default: %(default)s)"
    )
    transform.add_argument("--out", default="/data/clean.json", help="output JSON (default: %(default)s)")
    transform.add_argument("--min-amount", type=float, default=0.0, help="keep amounts >= this (default: 0)")
    transform.add_argument(
        "--expect-rows",
        type=non_negative_int,
        help="fail with exit code 3 unless the input has exactly this many rows",
    )

    load = add("load", cmd_load, "write records as CSV and report its sha256")
    load.add_argument(
        "--in", dest="input", default="/data/clean.json", help="input JSON (default: %(default)s)"
    )
    load.add_argument("--out", default="/data/loaded.csv", help="output CSV (default: %(default)s)")

    env = add("env", cmd_env, "report uid, gid, cwd, chosen env vars and writable paths")
    env.add_argument(
        "--var", action="append", default=[], metavar="NAME", help="env var to report (repeatable)"
    )
    env.add_argument(
        "--writable",
        action="append",
        default=[],
        metavar="PATH",
        help="path to test for write access (repeatable)",
    )

    sleep = add("sleep", cmd_sleep, "sleep SECONDS (ends at once on SIGTERM)")
    sleep.add_argument("seconds", type=non_negative_float)

    alloc = add("alloc", cmd_alloc, "allocate and touch MEGABYTES MiB of memory")
    alloc.add_argument("megabytes", type=non_negative_int)
    alloc.add_argument("--hold", type=non_negative_float, default=0.0, help="seconds to keep the memory")

    exit_ = add("exit", cmd_exit, "exit with CODE")
    exit_.add_argument("code", type=int)
    return parser


def on_sigterm(signum: int, _frame: object) -> None:
    """Leave at once on SIGTERM: as PID 1 in a container, Python would otherwise ignore it."""
    print(f"etl: received signal {signum}, exiting", file=sys.stderr, flush=True)
    sys.exit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return the process exit code."""
    signal.signal(signal.SIGTERM, on_sigterm)
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
        if not args.no_result:
            write_result(result)
    except EtlError as exc:
        print(f"etl {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except OSError as exc:
        print(f"etl {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT
    return args.code if args.command == "exit" else 0


if __name__ == "__main__":
    sys.exit(main())
