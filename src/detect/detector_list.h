// DetectorList: several detectors run as one, in order, for callers that
// take a single Detector (vigil ingest runs the rules and the threat-intel
// detector together). State calls reach every member; members keep their
// state under keys of their own. The members share one cache of the event's
// field values (sigma_internal::SharedEventFields).
#pragma once

#include <memory>
#include <vector>

#include "detect/detector.h"
#include "detect/sigma/internal/event_fields.h"

namespace vigil {

class DetectorList final : public Detector {
 public:
  // Members are owned; null members are left out.
  void Add(std::unique_ptr<Detector> d) {
    if (d) members_.push_back(std::move(d));
  }
  bool empty() const { return members_.empty(); }
  std::string_view name() const override { return "detectors"; }
  void Process(const Event& event, const MatchSink& sink) override {
    // The members read many of the same fields: each is resolved once.
    sigma_internal::SharedEventFields shared(event.fields.get());
    for (auto& d : members_) d->Process(event, sink);
  }
  bool ReadsOcsf() const override {
    for (const auto& d : members_)
      if (d->ReadsOcsf()) return true;
    return false;
  }
  Status RestoreState(const StateGetter& get) override {
    for (auto& d : members_) VIGIL_RETURN_IF_ERROR(d->RestoreState(get));
    return Status::Ok();
  }
  Status SaveState(const StatePutter& put) override {
    for (auto& d : members_) VIGIL_RETURN_IF_ERROR(d->SaveState(put));
    return Status::Ok();
  }

 private:
  std::vector<std::unique_ptr<Detector>> members_;
};

}  // namespace vigil
