// For the ocsf tests: the OCSF schema from the shared reference data, and
// sample logs parsed and normalised.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "env/env.h"
#include "formats/test_sink.h"
#include "ocsf/normalizer.h"
#include "ocsf/validator.h"

namespace vigil::ocsf::testing {

inline const std::string kData = VIGIL_SHARED_DATA;

// Loaded once per test binary: the schema is read-only.
inline const Schema& TheSchema() {
  static const Schema* schema = [] {
    auto s = Schema::Load(Env::Default(), kData + "/ocsf-schema");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->release() : nullptr;
  }();
  return *schema;
}

inline std::vector<std::string> LeftOut(const Normalized& n) {
  std::vector<std::string> out;
  for (const auto& i : n.invalid) out.push_back(i.attribute);
  return out;
}

// Parses `text` with the parser that recognises it, attaching the OCSF form.
inline vigil::testing::Collect ParseSample(std::string_view text) {
  auto c = vigil::testing::ParseAs(vigil::testing::RecognisedAs(text), text);
  for (auto& e : c.events) AttachOcsf(&e);
  return c;
}

inline const Normalized& Ocsf(const Event& e) {
  const Normalized* n = NormalizedOf(*e.fields);
  EXPECT_NE(n, nullptr);
  static const Normalized kNone;
  return n ? *n : kNone;
}

inline std::string OcsfString(const Event& e, std::string_view ocsf_path) {
  return e.FirstString(FieldPath("ocsf." + std::string(ocsf_path)));
}

}  // namespace vigil::ocsf::testing
