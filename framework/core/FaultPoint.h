#pragma once
// Crash injection for the tests that kill a run at a chosen instant (tests/integration/
// CrashWindowTest.cpp). With FERLAB_KILL_AT="<point>:<epoch>" in the environment, the process
// sends itself SIGKILL when it reaches that point in that epoch, exactly as `kill -9` would:
// no destructor, flush or handler runs. "<point>:<epoch>:TERM" or ":INT" sends SIGTERM or
// SIGINT instead, as Slurm or a terminal would, to test the graceful stop (core/StopSignal.h).
// Without the variable it does nothing (one getenv).

namespace ferlab::core {

/// Kills the process when FERLAB_KILL_AT names `point` at `epoch` (1-based).
void faultPoint(const char* point, int epoch);

}  // namespace ferlab::core
