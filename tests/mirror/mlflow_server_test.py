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
  statuses  the live statuses and a resumed run (one-cell grids, 1000 images, 3 epochs):
          trained without --mlflow and stopped by SIGTERM after epoch 1, the run resumes with
          --mlflow: its mirror first sends the epoch trained while nothing was mirrored; a
          second SIGTERM after epoch 2 leaves it KILLED in MLflow, with both epochs; a third
          invocation, given the server by the config's [tracking] mlflow_uri instead of
          --mlflow, finishes it (FINISHED, equal to the store). Another run whose checkpoint
          folder is replaced by a file after epoch 1 fails: FAILED in MLflow, with epoch 1.
          Last, that run's config in the store gains 250 keys (standing for a schema wider
          than today's 74 keys) and `ferlab sync` pushes them: params beyond MLflow's 100 per
          log-batch call arrive whole, in three calls.

The server is killed at the end whatever happens (try/finally, and on SIGTERM from ctest).

usage: mlflow_server_test.py live|killed|statuses FERLAB DATA_DIR WORK_DIR CACHE_DIR
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


def check_mirror(db, uri, experiment, expected_runs=2):
    """Asserts MLflow's copy equals the store; returns {(run, key): history length}."""
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=uri)
    store = sqlite3.connect(db)
    store.row_factory = sqlite3.Row
    runs = store.execute("SELECT * FROM runs WHERE experiment = ? ORDER BY grid_index",
                         (experiment,)).fetchall()
    assert len(runs) == expected_runs, [dict(r) for r in runs]
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment}"
    mlflow_runs = client.search_runs([found.experiment_id])
    assert len(mlflow_runs) == expected_runs, [r.info.run_name for r in mlflow_runs]
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
        assert len(epochs) >= 1, run["id"]
        for key, column in EPOCH_METRICS.items():
            history = sorted((m.step, m.value) for m in
                             client.get_metric_history(mirrored.info.run_id, key))
            want = [(e["epoch"], e[column]) for e in epochs]
            assert [s for s, _ in history] == [s for s, _ in want], (key, history, want)
            assert all(close(a, b) for (_, a), (_, b) in zip(history, want)), (key, history, want)
            lengths[(run["id"], key)] = len(history)
        splits = store.execute("SELECT split, loss, accuracy, macro_f1 FROM split_metrics "
                               "WHERE run_id = ? ORDER BY split", (run["id"],)).fetchall()
        if run["status"] != "finished":  # no final metrics, in the store or in MLflow
            assert not splits, splits
            final = [k for k in mirrored.data.metrics if k.startswith(("Public", "Private"))]
            assert not final, final
            continue
        assert sorted(s["split"] for s in splits) == ["PrivateTest", "PublicTest"], splits
        for split in splits:
            for field in ("loss", "accuracy", "macro_f1"):
                key = f"{split['split']}_{field}"
                history = client.get_metric_history(mirrored.info.run_id, key)
                assert len(history) == 1, (key, history)
                assert close(history[0].value, split[field]), (key, history[0].value, split[field])
                lengths[(run["id"], key)] = 1
    print(f"MLflow at {uri} equals the store: {len(runs)} run(s), {len(params)} params each, "
          f"{len(lengths)} metric histories")
    return lengths


def epochs_stored(db):
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as store:
            return store.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
    except sqlite3.Error:
        return 0


def run_until(command, db, epochs, then):
    """Starts `command`, calls then(process) once the store holds `epochs` epochs, and
    returns (exit code, output)."""
    trainer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    while epochs_stored(db) < epochs:
        if trainer.poll() is not None:
            output = trainer.communicate()[0]
            raise AssertionError(f"ended before epoch {epochs} was stored:\n{output}")
        time.sleep(0.1)
    then(trainer)
    output = trainer.communicate()[0]
    print(output)
    return trainer.returncode, output


def one_cell_grid(work, data, cache, name, seed):
    config = work / f"{name}.toml"
    config.write_text(
        f'name = "{name}"\n[data]\n'
        f'path = "{data}/fer2013"\ncache_dir = "{cache}"\nsubset = 1000\neval_subset = 0.05\n'
        f"[train]\nepochs = 3\nlr = 0.002\nseed = {seed}\n")
    return config


def mlflow_status(uri, experiment):
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert len(runs) == 1, len(runs)
    return runs[0].info.status


def check_statuses(ferlab, data, work, cache, server):
    db = work / "ferlab.db"
    results = work / "results"

    def run(config, mirrored):
        command = [str(ferlab), "run", str(config), "--db", str(db), "--results", str(results)]
        return command + (["--mlflow", server.uri] if mirrored else [])

    # A resumed run: epoch 1 trained unmirrored, epoch 2 live, then KILLED, then FINISHED.
    resumed = one_cell_grid(work, data, cache, "mlflow_resumed", 1)
    code, _ = run_until(run(resumed, False), db, 1, lambda p: p.send_signal(signal.SIGTERM))
    assert code == 143, code
    code, _ = run_until(run(resumed, True), db, 2, lambda p: p.send_signal(signal.SIGTERM))
    assert code == 143, code
    assert mlflow_status(server.uri, "mlflow_resumed") == "KILLED"
    check_mirror(db, server.uri, "mlflow_resumed", expected_runs=1)  # epochs 1 and 2
    # The last invocation names the server in the config's [tracking] table, not --mlflow.
    resumed.write_text(resumed.read_text() + f'[tracking]\nmlflow_uri = "{server.uri}"\n')
    subprocess.run(run(resumed, False), check=True)
    assert mlflow_status(server.uri, "mlflow_resumed") == "FINISHED"
    check_mirror(db, server.uri, "mlflow_resumed", expected_runs=1)

    # A run that fails after epoch 1: its checkpoint folder becomes a file (fails even as root).
    failing = one_cell_grid(work, data, cache, "mlflow_failed", 2)

    def break_checkpoints(_):
        with sqlite3.connect(db) as store:
            run_id = store.execute("SELECT id FROM runs WHERE experiment = 'mlflow_failed'"
                                   ).fetchone()[0]
        folder = results / "runs" / run_id
        folder.rename(folder.with_name(run_id + ".moved"))  # atomic, even mid-write
        folder.write_text("not a folder")

    before = epochs_stored(db)
    code, output = run_until(run(failing, True), db, before + 1, break_checkpoints)
    assert code == 1, (code, output)
    with sqlite3.connect(db) as store:
        status = store.execute("SELECT status FROM runs WHERE experiment = 'mlflow_failed'"
                               ).fetchone()[0]
    assert status == "failed", status
    assert mlflow_status(server.uri, "mlflow_failed") == "FAILED"
    check_mirror(db, server.uri, "mlflow_failed", expected_runs=1)

    # More params than one log-batch call takes (MLflow: 100), pushed by `ferlab sync`.
    with sqlite3.connect(db) as store:
        run_id, config_json = store.execute(
            "SELECT id, config_json FROM runs WHERE experiment = 'mlflow_failed'").fetchone()
        config = json.loads(config_json)
        config["wide"] = {f"key{i:03d}": i for i in range(250)}
        store.execute("UPDATE runs SET config_json = ? WHERE id = ?",
                      (json.dumps(config, separators=(",", ":")), run_id))
    output = subprocess.run([str(ferlab), "sync", "--mlflow", server.uri, "--db", str(db),
                             run_id], check=True, stdout=subprocess.PIPE, text=True).stdout
    print(output)
    check_mirror(db, server.uri, "mlflow_failed", expected_runs=1)  # all 324 params


def main() -> int:
    mode = sys.argv[1]
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # only --mlflow and [tracking] name the server
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
        if mode == "statuses":
            check_statuses(ferlab, data, work, cache, server)
            return 0
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
