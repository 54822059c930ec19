// MemEnv: an Env that keeps every file and directory in memory. For tests and
// fuzzers: fast, hermetic, and easy to corrupt on purpose.
//
// Semantics follow POSIX where storage code relies on them: creating a file
// needs its parent directory, rename replaces the target atomically, locks
// conflict like flock(2). Sync/SyncDir are no-ops (nothing is ever lost); use
// FaultInjectionEnv on top of a MemEnv to simulate crashes.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <memory>

#include "env/env.h"

namespace vigil {

// Returns a new, empty in-memory Env owned by the caller. The root "/" exists.
std::unique_ptr<Env> NewMemEnv();

}  // namespace vigil
