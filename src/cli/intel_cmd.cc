// `vigil intel check FEED...` and the feed loading the other subcommands share.
#include <cstdio>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/intel_feeds.h"
#include "common/json_writer.h"
#include "detect/detector_list.h"
#include "intel/feed.h"
#include "intel/intel_detector.h"

namespace vigil::cli {

std::vector<intel::FeedConfig> FeedConfigsForPaths(const std::vector<std::string>& paths) {
  std::vector<intel::FeedConfig> out;
  for (const auto& p : paths) {
    intel::FeedConfig c;
    c.path = p;
    out.push_back(std::move(c));
  }
  return out;
}

std::string FeedSummaryLine(const intel::FeedSummary& f) {
  std::string parts;
  auto add = [&](uint64_t n, const char* what) {
    if (n) parts += (parts.empty() ? "" : ", ") + HumanCount(n) + " " + what;
  };
  add(f.ipv4, "IPv4");
  add(f.ipv6, "IPv6");
  add(f.cidr4, "IPv4 CIDR");
  add(f.cidr6, "IPv6 CIDR");
  add(f.domains, "domains");
  if (parts.empty()) parts = "no indicators";
  uint64_t skipped = 0;
  std::string reasons;
  for (const auto& [r, n] : f.skipped) {
    skipped += n;
    reasons += (reasons.empty() ? "" : ", ") + r + ": " + HumanCount(n);
  }
  std::string line = f.name + " (" + std::string(intel::FeedFormatName(f.format)) + ", " + f.path + "): " + parts;
  if (skipped) line += "; " + HumanCount(skipped) + " skipped (" + reasons + ")";
  return line;
}

Result<std::unique_ptr<intel::IntelStore>> LoadIntelFeeds(std::vector<intel::FeedConfig> feeds, bool quiet) {
  auto store = std::make_unique<intel::IntelStore>(std::move(feeds));
  VIGIL_RETURN_IF_ERROR(store->Load());
  if (!quiet)
    for (const auto& f : store->current()->feeds()) Note("intel feed " + FeedSummaryLine(f));
  return store;
}

void AddIntelDetector(RuleLoad* rules, const intel::IntelStore* store) {
  auto list = std::make_unique<DetectorList>();
  list->Add(std::move(rules->detector));
  list->Add(std::make_unique<intel::IntelDetector>(store));
  rules->detector = std::move(list);
}

int RunIntelCheck(const IntelCheckOptions& o) {
  int failed = 0;
  for (const auto& path : o.feeds) {
    intel::FeedConfig c;
    c.path = path;
    if (!o.format.empty()) {
      auto f = intel::ParseFeedFormat(o.format);
      if (!f) return Fatal(Status::InvalidArgument("--format: expected auto, stix, misp, csv or list, got '" + o.format + "'"));
      c.format = *f;
    }
    auto feed = intel::LoadFeedFile(c);
    if (!feed.ok()) {
      ++failed;
      if (o.json) {
        std::printf("%s\n", JsonObject().Str("path", path).Bool("ok", false).Str("error", feed.status().message()).Done().c_str());
      } else {
        std::fprintf(stderr, "vigil: error: %s\n", feed.status().message().c_str());
      }
      continue;
    }
    auto index = intel::IntelIndex::Build({&*feed});
    const intel::FeedSummary& s = index->feeds()[0];
    if (o.json) {
      std::string skipped = "{";
      for (const auto& [r, n] : s.skipped) {
        if (skipped.size() > 1) skipped += ",";
        AppendJsonString(&skipped, r);
        skipped += ":" + std::to_string(n);
      }
      skipped += "}";
      std::printf("%s\n", JsonObject()
                              .Str("path", path)
                              .Bool("ok", true)
                              .Str("name", s.name)
                              .Str("format", intel::FeedFormatName(s.format))
                              .UInt("indicators", s.total())
                              .UInt("ipv4", s.ipv4)
                              .UInt("ipv6", s.ipv6)
                              .UInt("cidr4", s.cidr4)
                              .UInt("cidr6", s.cidr6)
                              .UInt("domains", s.domains)
                              .Raw("skipped", skipped)
                              .UInt("index_bytes", index->memory_bytes())
                              .Done()
                              .c_str());
    } else {
      std::printf("%s\n", FeedSummaryLine(s).c_str());
    }
  }
  return failed ? kExitFailures : kExitOk;
}

}  // namespace vigil::cli
