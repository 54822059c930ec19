// Fuzzes segment v2's pass over JSON records (store/json_scan.h) against the
// resolver it stands in for: on any input it must not crash; on a record the
// resolver parses it must report every scalar the resolver visits, and,
// when it reports hot values, exactly the values the resolver visits there,
// each string value naming its own string and scalar; the long strings are
// exactly the strings of JsonRecordScanner::kLongString bytes or more.
#include <cstdlib>
#include <set>
#include <string>

#include "event/json_fields.h"
#include "store/json_scan.h"

namespace {

const std::vector<vigil::FieldPath>& Paths() {
  static const auto* paths = new std::vector<vigil::FieldPath>{
      vigil::FieldPath("eventName"), vigil::FieldPath("userIdentity.arn"), vigil::FieldPath("a.b.c"),
      vigil::FieldPath("a"), vigil::FieldPath("n")};
  return *paths;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vigil::segment::JsonRecordScanner;
  static JsonRecordScanner* scanner = [] {
    std::vector<const vigil::FieldPath*> ptrs;
    for (const auto& p : Paths()) ptrs.push_back(&p);
    return new JsonRecordScanner(ptrs);
  }();
  const std::string json(reinterpret_cast<const char*>(data), size);
  const JsonRecordScanner::Outcome outcome = scanner->Scan(json);
  auto fields = vigil::ParseJsonFields(json);
  if (outcome != JsonRecordScanner::Outcome::kFailed) {
    const auto& strings = scanner->strings();
    size_t next = 0;
    for (uint32_t k = 0; k < strings.size(); ++k) {
      if (strings[k].end - strings[k].begin < JsonRecordScanner::kLongString) continue;
      if (next >= scanner->long_strings().size() || scanner->long_strings()[next] != k) std::abort();
      ++next;
    }
    if (next != scanner->long_strings().size()) std::abort();
  }
  if (outcome == JsonRecordScanner::Outcome::kAll) {
    for (const auto& h : scanner->hot()) {
      if (h.kind != vigil::ValueKind::kString) continue;
      if (h.string >= scanner->strings().size() || h.scalar >= scanner->scalars().size()) std::abort();
      const auto& sp = scanner->strings()[h.string];
      if (json.data() + sp.begin != h.text.data() || sp.end - sp.begin != h.text.size()) std::abort();
      if (scanner->scalars()[h.scalar].data() != h.text.data() || scanner->scalars()[h.scalar].size() != h.text.size())
        std::abort();
    }
  }
  if (!fields.ok() || outcome == JsonRecordScanner::Outcome::kFailed) return 0;
  std::set<std::string> got;
  for (std::string_view s : scanner->scalars()) got.insert(std::string(s));
  (*fields)->VisitAllScalars([&](const vigil::FieldValue& v) {
    if (v.kind != vigil::ValueKind::kNull && !got.count(std::string(v.text))) std::abort();
    return true;
  });
  if (outcome != JsonRecordScanner::Outcome::kAll) return 0;
  for (size_t c = 0; c < Paths().size(); ++c) {
    std::vector<std::string> want, have;
    (*fields)->Visit(Paths()[c], [&](const vigil::FieldValue& v) {
      if (v.kind != vigil::ValueKind::kObject && v.kind != vigil::ValueKind::kArray)
        want.push_back(v.kind == vigil::ValueKind::kNull ? "null" : std::string(v.text));
      return true;
    });
    for (const auto& h : scanner->hot())
      if (h.column == c) have.emplace_back(h.text);
    if (want != have) std::abort();
  }
  return 0;
}
