#!/usr/bin/env python3
"""`ferlab run --mlflow` and `ferlab sync` against a real MLflow tracking server.

Starts `mlflow server` (mlflow from scripts/python.lock) on 127.0.0.1 with a SQLite backend in
WORK_DIR, trains a 2-cell grid (200 images, 2 epochs, train.seed = [1, 2]) with the real binary,
and reads the server back with MLflow's own client (mlflow.tracking.MlflowClient): one
experiment of the grid's name, one run per store run (found by its ferlab.run_id tag), its
name, status, tags, params (the resolved config flattened) and every metric history equal to
the FERLab store (read with sqlite3).

  live    the server is up all along: the live mirror alone makes MLflow's copy complete.
  killed  the server is killed once the first epoch is in the store: training still finishes
          (exit 0, every run finished, every epoch stored); the server is restarted on the
          same backend, `ferlab sync` completes MLflow's copy, and a second sync adds nothing
          (every metric history keeps its length).

The server is killed at the end whatever happens (try/finally, and on SIGTERM from ctest).

usage: mlflow_server_test.py live|killed FERLAB DATA_DIR WORK_DIR CACHE_DIR
"""
import json
import math
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

EPOCH_METRICS = {  # MLflow key -> column of the store's epochs table
    "train_loss": "train_loss",
    "train_accuracy": "train_accuracy",
    "val_loss": "val_loss",
    "val_accuracy": "val_accuracy",
    "val_macro_f1": "val_macro_f1",
    "lr": "lr",
    "images_per_s": "images_per_sec",
}
STATUS = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED",
          "running": "RUNNING"}


class Server:
    """A private `mlflow server`; stop() kills its whole process group."""

    def __init__(self, work, port):
        self.work, self.port, self.process = work, port, None

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(self.work / "mlflow-server.log", "a")
        mlflow = pathlib.Path(sys.executable).parent / "mlflow"
        self.process = subprocess.Popen(
            [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{self.work}/mlflow.db",
             "--default-artifact-root", str(self.work / "artifacts"), "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.process.returncode}; see "
                                   f"{self.work / 'mlflow-server.log'}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("mlflow server did not answer /health within 180 s")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def flatten(value, prefix, out):
    """The resolved config as FERLab's MLflow params: dotted key paths, JSON text for
    non-strings (nlohmann's compact dump)."""
    if isinstance(value, dict) and value:
        for key, child in value.items():
            flatten(child, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, str):
        out[prefix] = value
    else:
        out[prefix] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return out


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def check_mirror(db, uri, experiment):
    """Asserts MLflow's copy equals the store; returns {(run, key): history length}."""
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=uri)
    store = sqlite3.connect(db)
    store.row_factory = sqlite3.Row
    runs = store.execute("SELECT * FROM runs WHERE experiment = ? ORDER BY grid_index",
                         (experiment,)).fetchall()
    assert len(runs) == 2, [dict(r) for r in runs]
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment}"
    mlflow_runs = client.search_runs([found.experiment_id])
    assert len(mlflow_runs) == 2, [r.info.run_name for r in mlflow_runs]
    lengths = {}
    for run in runs:
        matches = [r for r in mlflow_runs if r.data.tags.get("ferlab.run_id") == run["id"]]
        assert len(matches) == 1, (run["id"], len(matches))
        mirrored = matches[0]
        assert mirrored.info.run_name == run["name"], (mirrored.info.run_name, run["name"])
        assert mirrored.info.status == STATUS[run["status"]], (mirrored.info.status, run["status"])
        tags = mirrored.data.tags
        assert tags["ferlab.config_hash"] == run["config_hash"]
        assert tags["ferlab.git_commit"] == run["git_commit"]
        assert tags["ferlab.device"] == run["device"]
        params = flatten(json.loads(run["config_json"]), "", {})
        assert mirrored.data.params == params, set(mirrored.data.params.items()) ^ set(params.items())

        epochs = store.execute("SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch",
                               (run["id"],)).fetchall()
        assert len(epochs) == 2, len(epochs)
        for key, column in EPOCH_METRICS.items():
            history = sorted((m.step, m.value) for m in
                             client.get_metric_history(mirrored.info.run_id, key))
            want = [(e["epoch"], e[column]) for e in epochs]
            assert [s for s, _ in history] == [s for s, _ in want], (key, history, want)
            assert all(close(a, b) for (_, a), (_, b) in zip(history, want)), (key, history, want)
            lengths[(run["id"], key)] = len(history)
        splits = store.execute("SELECT split, loss, accuracy, macro_f1 FROM split_metrics "
                               "WHERE run_id = ? ORDER BY split", (run["id"],)).fetchall()
        assert sorted(s["split"] for s in splits) == ["PrivateTest", "PublicTest"], splits
        for split in splits:
            for field in ("loss", "accuracy", "macro_f1"):
                key = f"{split['split']}_{field}"
                history = client.get_metric_history(mirrored.info.run_id, key)
                assert len(history) == 1, (key, history)
                assert close(history[0].value, split[field]), (key, history[0].value, split[field])
                lengths[(run["id"], key)] = 1
    print(f"MLflow at {uri} equals the store: 2 runs, {len(params)} params each, "
          f"{len(lengths)} metric histories")
    return lengths


def main() -> int:
    mode = sys.argv[1]
    ferlab, data, work, cache = (pathlib.Path(arg) for arg in sys.argv[2:6])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    experiment = f"mlflow_{mode}"
    config = work / "grid.toml"
    config.write_text(
        f'name = "{experiment}"\n[data]\n'
        f'path = "{data}/fer2013"\ncache_dir = "{cache}"\nsubset = 200\neval_subset = 0.05\n'
        "[train]\nepochs = 2\nlr = 0.002\n[grid]\n\"train.seed\" = [1, 2]\n")
    db = work / "ferlab.db"
    server = Server(work, free_port())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server.start()
        command = [str(ferlab), "run", str(config), "--db", str(db), "--results",
                   str(work / "results"), "--mlflow", server.uri]
        started = time.time()
        if mode == "live":
            subprocess.run(command, check=True)
            print(f"grid trained with --mlflow in {time.time() - started:.0f} s")
            check_mirror(db, server.uri, experiment)
            return 0

        trainer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True)
        while True:  # kill the server once the store holds the first epoch
            if trainer.poll() is not None:
                raise AssertionError("the grid ended before its first epoch was stored")
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as store:
                    if store.execute("SELECT COUNT(*) FROM epochs").fetchone()[0] >= 1:
                        break
            except sqlite3.Error:
                pass
            time.sleep(0.2)
        server.stop()
        print(f"server killed {time.time() - started:.0f} s into the grid")
        output, _ = trainer.communicate()
        print(output)
        assert trainer.returncode == 0, trainer.returncode
        warnings = [line for line in output.splitlines() if "MLflow mirror stopped" in line]
        assert 1 <= len(warnings) <= 2, warnings  # at most one per run
        store = sqlite3.connect(db)
        assert store.execute("SELECT status FROM runs").fetchall() == [("finished",)] * 2
        assert store.execute("SELECT COUNT(*) FROM epochs").fetchone() == (4,)

        server.start()
        sync = [str(ferlab), "sync", "--mlflow", server.uri, "--db", str(db)]
        first = subprocess.run(sync, check=True, stdout=subprocess.PIPE, text=True).stdout
        print(first)
        lengths = check_mirror(db, server.uri, experiment)
        second = subprocess.run(sync, check=True, stdout=subprocess.PIPE, text=True).stdout
        print(second)
        assert "2 run(s)" in second and ": 0 changed, 2 already complete" in second, second
        assert check_mirror(db, server.uri, experiment) == lengths, "the second sync added values"
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
