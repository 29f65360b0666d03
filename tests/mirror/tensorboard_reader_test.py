#!/usr/bin/env python3
"""`ferlab run --tensorboard DIR` read back by TensorBoard's own reader.

Trains a tiny run (200 images, 3 epochs) with the real binary, then reads DIR with
tensorboard.backend.event_processing.event_accumulator.EventAccumulator (tensorboard from
scripts/python.lock) and checks that every per-epoch scalar equals the store's epochs row
(read with sqlite3; event files hold float32) and that both confusion-matrix images are there
as PNGs; then that a --tensorboard folder that cannot be created (a regular file) logs one
warning and the run still finishes with all its epochs in the store.

usage: tensorboard_reader_test.py FERLAB DATA_DIR WORK_DIR CACHE_DIR
"""
import pathlib
import shutil
import sqlite3
import subprocess
import sys

from tensorboard.backend.event_processing import event_accumulator

SCALARS = {  # TensorBoard tag -> column of the store's epochs table
    "train/loss": "train_loss",
    "train/accuracy": "train_accuracy",
    "val/loss": "val_loss",
    "val/accuracy": "val_accuracy",
    "val/macro_f1": "val_macro_f1",
    "lr": "lr",
    "images_per_sec": "images_per_sec",
}


def check_failing_mirror(ferlab, config, work):
    """A mirror that cannot write (DIR is a regular file) warns once; the run still finishes."""
    blocked = work / "not-a-folder"
    blocked.write_text("x")
    db = work / "failing.db"
    result = subprocess.run([str(ferlab), "run", str(config), "--db", str(db), "--results",
                             str(work / "failing-results"), "--tensorboard", str(blocked)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, result.stdout
    warnings = [line for line in result.stdout.splitlines() if "TensorBoard mirror off" in line]
    assert len(warnings) == 1, result.stdout
    store = sqlite3.connect(db)
    assert store.execute("SELECT status FROM runs").fetchall() == [("finished",)]
    assert store.execute("SELECT COUNT(*) FROM epochs").fetchone() == (3,)


def main() -> int:
    ferlab, data, work, cache = (pathlib.Path(arg) for arg in sys.argv[1:5])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = work / "tiny.toml"
    config.write_text(
        'name = "tensorboard"\n[data]\n'
        f'path = "{data}/fer2013"\ncache_dir = "{cache}"\nsubset = 200\neval_subset = 0.05\n'
        "[model]\nbatch_norm = true\n[augment]\nhflip = 0.5\n"
        "[train]\nepochs = 3\nseed = 5\nlr = 0.002\n")
    db, logdir = work / "ferlab.db", work / "tb"
    subprocess.run([str(ferlab), "run", str(config), "--db", str(db), "--results",
                    str(work / "results"), "--tensorboard", str(logdir)], check=True)

    store = sqlite3.connect(db)
    runs = store.execute("SELECT id, name FROM runs WHERE status = 'finished'").fetchall()
    assert len(runs) == 1, runs
    run_id, run_name = runs[0]
    folders = [p for p in logdir.iterdir() if p.is_dir()]
    assert [p.name for p in folders] == [f"{run_name}_{run_id}"], folders
    files = list(folders[0].glob("events.out.tfevents.*"))
    assert len(files) == 1, files

    accumulator = event_accumulator.EventAccumulator(
        str(folders[0]), size_guidance={event_accumulator.SCALARS: 0,
                                        event_accumulator.IMAGES: 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    # EventAccumulator parses file_version "brain.Event:2" into the number 2.0.
    assert accumulator.file_version == 2.0, accumulator.file_version
    epochs = store.execute(
        f"SELECT epoch, {', '.join(SCALARS.values())} FROM epochs WHERE run_id = ? ORDER BY epoch",
        (run_id,)).fetchall()
    assert [row[0] for row in epochs] == [1, 2, 3], epochs
    assert sorted(tags["scalars"]) == sorted(SCALARS), tags["scalars"]
    for column, (tag, _) in enumerate(SCALARS.items(), start=1):
        events = accumulator.Scalars(tag)
        assert [e.step for e in events] == [1, 2, 3], (tag, events)
        for event, row in zip(events, epochs):
            expected = row[column]
            assert abs(event.value - expected) <= 1e-6 * max(1.0, abs(expected)), (tag, event, row)

    last_epoch = store.execute("SELECT last_epoch FROM runs WHERE id = ?", (run_id,)).fetchone()
    for split in ("PublicTest", "PrivateTest"):
        tag = f"confusion_matrix/{split}"
        assert tag in tags["images"], tags["images"]
        images = accumulator.Images(tag)
        assert len(images) == 1, images
        image = images[0]
        assert image.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n", tag
        assert image.width > 0 and image.height > 0, image
        assert image.step == last_epoch[0], (image.step, last_epoch)
    check_failing_mirror(ferlab, config, work)
    print(f"ok: {len(SCALARS)} scalars x 3 epochs and 2 confusion images of run {run_id} "
          "read back by EventAccumulator")
    return 0


if __name__ == "__main__":
    sys.exit(main())
