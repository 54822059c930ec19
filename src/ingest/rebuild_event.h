// A stored record as the Event ingest made of it: its fields parsed again
// from its log type and raw bytes (formats/record_fields.h) and its OCSF form
// attached, so that backtests match it with the live path's rules and
// compaction writes its columns and filters as ingest did.
#pragma once

#include "common/status.h"
#include "event/event.h"
#include "store/event_store.h"

namespace vigil {

// Fails with the reason when the raw bytes do not read as their log type.
Result<Event> RebuildEvent(const StoredEvent& stored);

}  // namespace vigil
