// What the parser fuzzers share: any bytes, given to
// the parser directly and through content recognition and gzip framing, must
// yield events, dead letters or an error, never a crash; every event's fields
// are read, and the record is read again from its raw bytes as `vigil hunt`
// reads stored records. Every event is normalised to OCSF too (what a rule
// or hunt naming an `ocsf.` field causes), and the OCSF form is read back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "formats/decompress.h"
#include "formats/parser.h"
#include "formats/record_fields.h"
#include "ocsf/normalizer.h"

namespace vigil::fuzz {

struct TouchingSink : ParseSink {
  std::initializer_list<const char*> paths;
  explicit TouchingSink(std::initializer_list<const char*> p) : paths(p) {}
  void OnEvent(Event&& e) override {
    // Touch what downstream stages read.
    for (const char* p : paths) (void)e.FirstString(FieldPath(p));
    if (e.fields) e.fields->VisitAllScalars([](const FieldValue&) { return true; });
    (void)RecordFields(e.source_type, e.raw);
    ocsf::AttachOcsf(&e);
    if (e.fields) {
      (void)e.FirstString(FieldPath("ocsf.class_uid"));
      (void)e.FirstString(FieldPath("ocsf.src_endpoint.ip"));
      if (const ocsf::Normalized* n = ocsf::NormalizedOf(*e.fields))
        if (n->class_uid >= 0 && n->json.empty()) __builtin_trap();  // a class always yields a JSON object
    }
  }
  void OnDeadLetter(DeadLetter&&) override {}
  void OnWarning(std::string_view, std::string_view) override {}
};

inline int FuzzParser(std::string_view parser_name, std::initializer_list<const char*> paths, const uint8_t* data,
                      size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto& registry = ParserRegistry::Default();
  TouchingSink sink(paths);
  (void)registry.Find(parser_name)->Parse(ParseInput{"fuzz", bytes, 0, 0}, sink);
  auto text = GunzipAll(bytes, "fuzz", 1 << 24);
  std::string_view input = text.ok() ? text->view() : bytes;
  if (const Parser* parser = registry.Recognize(input.substr(0, 65536)))
    (void)parser->Parse(ParseInput{"fuzz", input, 0, text.ok() ? text->padding() : 0}, sink);
  return 0;
}

}  // namespace vigil::fuzz
