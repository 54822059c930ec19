// MISP event JSON: an event export ({"Event": {...}}), a REST search result
// ({"response": [{"Event": ...}, ...]}) or an array of events. Attributes of
// the event and of its objects are read when their type names a network
// indicator; by default only those marked for detection (to_ids).
#include <simdjson.h>

#include "common/time.h"
#include "intel/feed.h"
#include "intel/internal/feed_util.h"

namespace vigil::intel {
namespace {

using simdjson::dom::element;

std::string_view Str(element obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return v;
}

// MISP writes booleans as true/false, and (older exports) as "1"/"0" or 1/0.
bool Flag(element obj, const char* key) {
  auto v = obj[key];
  bool b = false;
  if (v.get_bool().get(b) == simdjson::SUCCESS) return b;
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) return s == "1" || s == "true";
  int64_t n = 0;
  if (v.get_int64().get(n) == simdjson::SUCCESS) return n != 0;
  return false;
}

// The misp:confidence-level taxonomy, as a 0-100 confidence.
int ConfidenceFromTag(std::string_view tag) {
  static constexpr std::pair<std::string_view, int> kLevels[] = {
      {"completely-confident", 100}, {"usually-confident", 75}, {"fairly-confident", 50},
      {"rarely-confident", 25},      {"unconfident", 0},
  };
  if (!tag.starts_with("misp:confidence-level=")) return -1;
  for (const auto& [name, v] : kLevels)
    if (tag.find(name) != std::string_view::npos) return v;
  return -1;
}

struct Tags {
  std::vector<std::string> names;
  int confidence = -1;
};

void ReadTags(element obj, Tags* out) {
  simdjson::dom::array tags;
  if (obj["Tag"].get_array().get(tags) != simdjson::SUCCESS) return;
  for (element t : tags) {
    std::string_view name = Str(t, "name");
    if (name.empty()) continue;
    out->names.emplace_back(name);
    if (int c = ConfidenceFromTag(name); c >= 0) out->confidence = c;
  }
}

class EventReader {
 public:
  EventReader(std::string_view text, const FeedConfig& config, ParsedFeed* feed)
      : config_(config), feed_(feed), lines_(text) {}

  Status Event(element ev) {
    if (!ev.is_object()) return Status::InvalidArgument(config_.path + ": an Event is not an object");
    Tags tags;
    ReadTags(ev, &tags);
    info_ = Str(ev, "info");
    event_uuid_ = Str(ev, "uuid");
    simdjson::dom::array attrs;
    if (ev["Attribute"].get_array().get(attrs) == simdjson::SUCCESS)
      for (element a : attrs) VIGIL_RETURN_IF_ERROR(Attribute(a, tags));
    simdjson::dom::array objects;
    if (ev["Object"].get_array().get(objects) == simdjson::SUCCESS) {
      for (element o : objects) {
        if (Flag(o, "deleted")) continue;
        simdjson::dom::array oattrs;
        if (o["Attribute"].get_array().get(oattrs) == simdjson::SUCCESS)
          for (element a : oattrs) VIGIL_RETURN_IF_ERROR(Attribute(a, tags));
      }
    }
    return Status::Ok();
  }

 private:
  Status Attribute(element a, const Tags& event_tags) {
    std::string_view uuid = Str(a, "uuid");
    const uint32_t line = lines_.LineOf(uuid);
    auto fail = [&](const std::string& what) {
      return Status::InvalidArgument(config_.path + (line ? ":" + std::to_string(line) : "") + ": attribute " +
                                     (uuid.empty() ? std::string("(no uuid)") : std::string(uuid)) + ": " + what);
    };
    if (!a.is_object()) return fail("not an object");
    std::string_view type = Str(a, "type"), value = Str(a, "value");
    if (Flag(a, "deleted")) {
      feed_->Skip("deleted attribute");
      return Status::Ok();
    }
    enum { kIp, kIpPort, kDomain, kDomainIp, kOther } kind = kOther;
    if (type == "ip-src" || type == "ip-dst") kind = kIp;
    else if (type == "ip-src|port" || type == "ip-dst|port") kind = kIpPort;
    else if (type == "domain" || type == "hostname") kind = kDomain;
    else if (type == "domain|ip") kind = kDomainIp;
    if (kind == kOther) {
      feed_->Skip("attribute type " + std::string(type.empty() ? "(none)" : type));
      return Status::Ok();
    }
    if (!Flag(a, "to_ids") && !config_.misp_include_non_ids) {
      feed_->Skip("to_ids false");
      return Status::Ok();
    }
    if (value.empty()) return fail("no \"value\"");
    std::vector<std::pair<std::string_view, bool>> values;  // (text, is_ip)
    size_t bar = value.find('|');
    switch (kind) {
      case kIp: values.push_back({value, true}); break;
      case kIpPort:
        if (bar == std::string_view::npos) return fail(std::string(type) + " value '" + std::string(value) + "' has no '|'");
        values.push_back({value.substr(0, bar), true});
        break;
      case kDomain: values.push_back({value, false}); break;
      case kDomainIp:
        if (bar == std::string_view::npos) return fail("domain|ip value '" + std::string(value) + "' has no '|'");
        values.push_back({value.substr(0, bar), false});
        values.push_back({value.substr(bar + 1), true});
        break;
      case kOther: break;
    }
    Tags tags = event_tags;
    ReadTags(a, &tags);
    FeedEntry base;
    base.line = line;
    base.ref = std::string(uuid);
    base.description = std::string(Str(a, "comment"));
    if (base.description.empty()) base.description = std::string(info_);
    base.labels = tags.names;
    base.confidence = tags.confidence;
    std::string words = std::string(Str(a, "comment")) + " " + std::string(info_);
    for (const auto& t : tags.names) words += " " + t;
    base.category = CategoryFromText(words);
    for (const char* key : {"first_seen", "last_seen"}) {
      std::string_view t = Str(a, key);
      if (t.empty()) continue;
      auto ns = ParseTimestamp(t);
      if (!ns) return fail(std::string("\"") + key + "\" is not a timestamp: '" + std::string(t) + "'");
      // last_seen is the last sighting: the indicator holds through it.
      (key[0] == 'f' ? base.valid_from_ns : base.valid_until_ns) = key[0] == 'f' ? *ns : *ns + 1;
    }
    for (const auto& [text, is_ip] : values) {
      auto v = is_ip ? ParseIpOrCidr(text) : ParseDomain(text);
      if (!v) {
        return fail(std::string(type) + " value '" + std::string(text) + "' is not " +
                    (is_ip ? "an IP address or CIDR range" : "a domain name"));
      }
      FeedEntry e = base;
      e.value = std::move(*v);
      feed_->entries.push_back(std::move(e));
    }
    return Status::Ok();
  }

  const FeedConfig& config_;
  ParsedFeed* feed_;
  internal::LineCounter lines_;
  std::string_view info_, event_uuid_;
};

}  // namespace

Result<ParsedFeed> ParseMispEvents(std::string_view text, const FeedConfig& config) {
  ParsedFeed feed;
  feed.format = FeedFormat::kMisp;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  element root;
  if (auto err = parser.parse(padded).get(root))
    return Status::InvalidArgument(config.path + ": not valid JSON (" + simdjson::error_message(err) + ")");
  EventReader reader(text, config, &feed);
  auto one = [&](element wrapper) -> Status {
    element ev;
    if (wrapper["Event"].get(ev) != simdjson::SUCCESS)
      return Status::InvalidArgument(config.path + ": expected {\"Event\": {...}}");
    return reader.Event(ev);
  };
  simdjson::dom::array list;
  if (root.is_array()) {
    list = root.get_array().value_unsafe();
  } else if (root["response"].get_array().get(list) != simdjson::SUCCESS) {
    if (!root.is_object() || root["Event"].error() != simdjson::SUCCESS)
      return Status::InvalidArgument(config.path + ": not a MISP event (expected {\"Event\": {...}})");
    VIGIL_RETURN_IF_ERROR(one(root));
    return feed;
  }
  for (element w : list) VIGIL_RETURN_IF_ERROR(one(w));
  return feed;
}

}  // namespace vigil::intel
