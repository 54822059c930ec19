// DetectorSet: several detectors run as one (Sigma rules with their
// correlations, behavioural rules), for callers that hold one Detector.
// Each event goes to every member in order; state is saved and restored per
// member under the member's own keys.
//
// Ownership: owns its members. Thread safety: as its members.
#pragma once

#include <memory>
#include <vector>

#include "detect/detector.h"

namespace vigil {

class DetectorSet final : public Detector {
 public:
  explicit DetectorSet(std::vector<std::unique_ptr<Detector>> members) : members_(std::move(members)) {}
  std::string_view name() const override { return "detectors"; }
  void Process(const Event& event, const MatchSink& sink) override {
    for (auto& d : members_) d->Process(event, sink);
  }
  Status RestoreState(const StateGetter& get) override {
    for (auto& d : members_) VIGIL_RETURN_IF_ERROR(d->RestoreState(get));
    return Status::Ok();
  }
  Status SaveState(const StatePutter& put) override {
    for (auto& d : members_) VIGIL_RETURN_IF_ERROR(d->SaveState(put));
    return Status::Ok();
  }
  const std::vector<std::unique_ptr<Detector>>& members() const { return members_; }

 private:
  std::vector<std::unique_ptr<Detector>> members_;
};

}  // namespace vigil
