// One line of text saying why an alert fired, from its explanation (the
// `match` JSON object a Sigma rule, correlation, behavioural detector or
// threat-intel match stores with the alert): for terminals, notifications and
// summaries, where the whole object is too long. docs/rule-authoring.md
// describes the objects.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil {

// For example:
//   Sigma:       eventName=CreateAccessKey userIdentity.type=Root
//   new_term:    first eventSource=ec2.amazonaws.com eventName=CreateSnapshot (learning 5d)
//   beacon:      20 connections every 298.7s (jitter 2.9%)
//   intel:       srcaddr 45.155.205.81 on threat-ips (listed)
// Unknown shapes give their keys and scalar values; an empty or unreadable
// `match` gives "". The result is at most `max_chars` bytes (cut with "...").
std::string ExplainOneLine(std::string_view match_json, size_t max_chars = 160);

}  // namespace vigil
