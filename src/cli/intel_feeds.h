// Threat-intel feeds for the subcommands: `--intel FEED` on ingest and
// backtest, the serve configuration's `intel` section, `vigil intel check`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/workspace.h"
#include "common/status.h"
#include "intel/intel_store.h"

namespace vigil::cli {

// Feed configurations for paths given on the command line (format from
// content, name from the file name).
std::vector<intel::FeedConfig> FeedConfigsForPaths(const std::vector<std::string>& paths);

// Loads the feeds (every one must read) and notes what each holds on stderr.
Result<std::unique_ptr<intel::IntelStore>> LoadIntelFeeds(std::vector<intel::FeedConfig> feeds, bool quiet = false);

// Makes `rules->detector` run the intel detector over `store` after the
// rules (or alone, when no rules were loaded). `store` must outlive it.
void AddIntelDetector(RuleLoad* rules, const intel::IntelStore* store);

// "name (format): 120 IPv4, 3 CIDR, 40 domains; 2 skipped (pattern on file)"
std::string FeedSummaryLine(const intel::FeedSummary& feed);

}  // namespace vigil::cli
