#pragma once
// Graceful stop on SIGINT and SIGTERM: the first signal only sets a flag that training polls
// between steps (train/Trainer.cpp), so the run stops at a step boundary, keeps its last
// completed epoch's checkpoint and gives up its claim for the next invocation to resume. A
// second signal of either kind ends the process at once (the default action), for a user who
// will not wait. Slurm sends SIGTERM before it kills a job (and our sbatch scripts forward the
// time-limit warning as SIGTERM); a terminal sends SIGINT on Ctrl-C.

namespace ferlab::core {

/// Installs the handlers (idempotent). Called by `ferlab run` before training.
void installStopHandlers();

/// The signal that asked this process to stop (SIGINT or SIGTERM), or 0. Async-signal-safe
/// to set, cheap to read: a relaxed atomic load.
int stopSignal();

/// Throws Interrupted (exit code 128 + signal) naming `what` when a stop was requested.
void throwIfStopRequested(const char* what);

}  // namespace ferlab::core
