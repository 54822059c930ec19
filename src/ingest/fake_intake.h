// FakeIntake: an Intake for source tests. Records what it accepts; can refuse
// the next calls with kUnavailable to simulate overload.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "ingest/intake.h"

namespace vigil {

class FakeIntake : public Intake {
 public:
  Status Accept(std::vector<IntakeRecord> records) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (refuse_ > 0) {
      --refuse_;
      return Status::Unavailable("fake intake overloaded");
    }
    for (auto& r : records) accepted_.push_back(std::move(r));
    return Status::Ok();
  }
  void RefuseNext(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = n;
  }
  std::vector<IntakeRecord> accepted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& r : accepted_) out.push_back(r.name);
    return out;
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<IntakeRecord> accepted_;
  int refuse_ = 0;
  int calls_ = 0;
};

}  // namespace vigil
