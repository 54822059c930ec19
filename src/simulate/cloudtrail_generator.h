// A synthetic day of CloudTrail for a small AWS organisation, written the way
// CloudTrail delivers it to S3, with labelled attacks injected.
//
// The organisation has two accounts (a workload account and a security
// account), eight IAM users, a handful of roles (an EC2 instance role, a
// Lambda role, a deploy role assumed by CI, an inventory scanner, a
// cross-account audit role) and AWS services calling on their behalf. Routine
// activity follows a working-day rhythm for people and runs around the clock
// for workloads: Describe/List/Get reads, AssumeRole, S3 object data events,
// KMS data-key calls, console sign-ins with MFA, a few harmless writes and the
// occasional benign error (throttling, NoSuchBucketPolicy, not-found). Routine
// records raise no CIS AWS Foundations section 4 alert.
//
// With attacks enabled the day also holds a labelled intrusion: a burst of
// AccessDenied/UnauthorizedOperation from a leaked access key, console
// password guessing and a sign-in without MFA, a CI key used to create an
// administrator user with an access key, CloudTrail StopLogging, SSH opened to
// 0.0.0.0/0, a public bucket policy, a KMS key scheduled for deletion, and a
// root console sign-in in the security account. GeneratorSummary::attacks says
// which record is which and which CIS control each one violates.
//
// Output, under `out_dir`:
//   AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
//       <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 chars>.json.gz
// gzip files of {"Records":[...]}, one per account, region and 15-minute
// delivery window, records in time order; the path date and stamp are the
// delivery time (the end of the window). Plus one digest file
//   AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
//       <account>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHMMZ>.json.gz
// shaped like a CloudTrail digest (its hashes and signature are placeholders,
// not verifiable), so that readers can show they skip digests.
//
// Determinism: the same options produce byte-identical files on every run and
// platform (own PRNG, no wall clock, gzip header without a timestamp).
// Thread safety: GenerateCloudTrailDay keeps no global state; concurrent calls
// must use different output directories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace vigil {

struct GeneratorOptions {
  uint64_t seed = 1;
  // Start of the simulated day, nanoseconds since the epoch (UTC). Rounded
  // down to midnight. The default is 2025-03-04T00:00:00Z.
  int64_t day_start_ns = 1741046400LL * 1'000'000'000LL;
  // Number of routine records (attack records come on top). At most 10M.
  size_t routine_events = 5000;
  bool attacks = true;
};

// One injected attack record.
struct InjectedEvent {
  std::string scenario;      // e.g. "leaked-key-recon", "trail-stopped"
  std::string cis_control;   // CIS AWS 4.x control it violates ("4.5"), or empty
  std::string event_id;
  std::string event_name;
  std::string principal_arn;
  std::string account;
  int64_t time_ns = 0;
};

struct GeneratorSummary {
  size_t log_files = 0;       // CloudTrail log files written (digest excluded)
  size_t digest_files = 0;
  size_t records = 0;         // routine_records + attack_records
  size_t routine_records = 0;
  size_t attack_records = 0;
  uint64_t bytes_written = 0;  // compressed bytes, all files
  std::vector<std::string> accounts;
  std::vector<std::string> files;  // paths relative to out_dir, log files then digest
  std::vector<InjectedEvent> attacks;
};

// Writes one simulated day under `out_dir` (created if missing). Fails with
// kInvalidArgument for bad options and kIoError when a file cannot be written;
// files written before a failure are left in place.
Result<GeneratorSummary> GenerateCloudTrailDay(const GeneratorOptions& options,
                                               const std::string& out_dir);

}  // namespace vigil
