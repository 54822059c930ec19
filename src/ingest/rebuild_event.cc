#include "ingest/rebuild_event.h"

#include "formats/record_fields.h"
#include "ocsf/normalizer.h"

namespace vigil {

Result<Event> RebuildEvent(const StoredEvent& s) {
  auto fields = RecordFields(s.source_type, s.raw);
  if (!fields.ok()) return fields.status();
  Event e;
  e.id = s.id;
  e.source_type = s.source_type;
  e.time_ns = s.time_ns;
  e.ingest_time_ns = s.ingest_time_ns;
  e.time_fallback = s.time_fallback;
  e.account = s.account;
  e.principal = s.principal;
  e.raw = s.raw;
  e.fields = std::move(fields).value();
  ocsf::AttachOcsf(&e);
  return e;
}

}  // namespace vigil
