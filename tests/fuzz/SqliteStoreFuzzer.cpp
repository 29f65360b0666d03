// libFuzzer harness: opening a tracking store (tracking/SqliteStore.h) from a corrupt or
// hostile file and reading it back, as `ferlab ls`, `show` and `report` do: read-only first,
// then read-write (which migrates the schema). The input is the database file. Bad input must
// end in StoreError; anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "framework/core/Errors.h"
#include "framework/tracking/SqliteStore.h"
#include "tests/fuzz/FuzzInput.h"

namespace {

// Everything a reader asks of every run.
void readEverything(const ferlab::tracking::SqliteStore& store) {
  store.schemaVersion();
  for (const auto& row : store.listRuns()) {
    const std::string& id = row.record.id;
    store.epochs(id);
    store.splitMetrics(id);
    store.phases(id);
    store.predictions(id, "test");
    store.experimentInfo(row.record.experiment);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ferlab::fuzz::writeTemp("store.db", data, size);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
  using ferlab::tracking::OpenMode;
  using ferlab::tracking::SqliteStore;
  try {
    const SqliteStore store(path, OpenMode::ReadOnly);
    readEverything(store);
  } catch (const ferlab::StoreError&) {
  }
  try {
    const SqliteStore store(path, OpenMode::ReadWrite);
    store.storeId();
    readEverything(store);
  } catch (const ferlab::StoreError&) {
  }
  return 0;
}
