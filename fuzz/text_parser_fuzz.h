// What the parser fuzzers share: any bytes, given to
// the parser directly and through content recognition and gzip framing, must
// yield events, dead letters or an error, never a crash; every event's fields
// are read, and the record is read again from its raw bytes as `vigil hunt`
// reads stored records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "formats/decompress.h"
#include "formats/parser.h"
#include "formats/record_fields.h"

namespace vigil::fuzz {

struct TouchingSink : ParseSink {
  std::initializer_list<const char*> paths;
  explicit TouchingSink(std::initializer_list<const char*> p) : paths(p) {}
  void OnEvent(Event&& e) override {
    // Touch what downstream stages read.
    for (const char* p : paths) (void)e.FirstString(FieldPath(p));
    if (e.fields) e.fields->VisitAllScalars([](const FieldValue&) { return true; });
    (void)RecordFields(e.source_type, e.raw);
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
