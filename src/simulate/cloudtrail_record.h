// One CloudTrail record as the simulators build it: who calls (Principal),
// what they call (Call), and its rendering to the JSON CloudTrail writes
// (userIdentity by identity type, TLS details, service-event fields).
#pragma once

#include <string>
#include <vector>

#include "simulate/sim_common.h"

namespace vigil::sim {

enum class Kind { kIamUser, kAssumedRole, kRoot, kAwsService };

struct Principal {
  Kind kind = Kind::kIamUser;
  std::string account;
  std::string name;          // user or role name; service for kAwsService
  std::string id;            // AIDA.../AROA...
  std::string access_key;    // long-term key (AKIA...) for users
  std::string session;       // role session name
  std::string invoked_by;    // service principal that acts, if any
  std::string ip;
  std::string user_agent;

  std::string Arn() const {
    switch (kind) {
      case Kind::kIamUser: return "arn:aws:iam::" + account + ":user/" + name;
      case Kind::kAssumedRole: return "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session;
      case Kind::kRoot: return "arn:aws:iam::" + account + ":root";
      case Kind::kAwsService: return "";
    }
    return "";
  }
  std::string RoleArn() const {
    std::string path = name.rfind("AWSServiceRoleFor", 0) == 0 ? "aws-service-role/config.amazonaws.com/" : "";
    return "arn:aws:iam::" + account + ":role/" + path + name;
  }
};

// One CloudTrail record before rendering.
struct Call {
  const Principal* who = nullptr;
  std::string account;  // recipientAccountId; defaults to who->account
  std::string region = "us-east-1";
  int64_t time_ns = 0;
  std::string source;
  std::string name;
  std::string event_type = "AwsApiCall";
  bool read_only = true;
  bool data_event = false;
  bool console = false;         // a console session (temporary credentials)
  bool mfa_session = true;      // console sessions: mfaAuthenticated
  std::string request = "null";
  std::string response = "null";
  std::string error_code;
  std::string error_message;
  std::string additional;       // additionalEventData JSON, optional
  std::string resources;        // JSON array, optional
  std::string service_details;  // serviceEventDetails JSON, optional
  std::string ip;               // overrides who->ip
  std::string user_agent;       // overrides who->user_agent
  bool request_id = true;
};

// Read-only API calls with typical request parameters. The first
// kRoutineReadApis are what people and scanners call day to day; the rest are
// calls only discovery after a compromise makes.
struct ReadCall {
  const char* source;
  const char* name;
  const char* request;  // JSON text
};
const std::vector<ReadCall>& ReadCatalogue();
inline constexpr int kRoutineReadApis = 24;

// A console sign-in (signin.amazonaws.com ConsoleLogin) by `who` at `t`:
// "Success" or "Failure" ("Failed authentication"), with MFA or without
// (MFAUsed, and MFAIdentifier for an IAM user's device). Callers set the
// address and user agent.
Call ConsoleLoginCall(const Principal* who, int64_t t, bool success, bool mfa);

// Renders `c` as one CloudTrail record and sets *event_id to its eventID.
// Draws the eventID, requestID and (for AWS services) sharedEventID from `rng`.
std::string RenderCloudTrail(const Call& c, Rng& rng, std::string* event_id);

}  // namespace vigil::sim
