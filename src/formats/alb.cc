#include "formats/alb.h"

#include <string>
#include <vector>

#include "common/time.h"
#include "formats/text_lines.h"

namespace vigil {
namespace {

// How a derived column is cut out of a line's own column.
enum class Split { kHostPort, kRequest };

struct Derived {
  std::string_view from;  // the line's own column
  Split split;
  std::vector<std::string> names;  // 2 for kHostPort, kRequestNames for kRequest
};

// What `request` ("GET https://host:443/path?q HTTP/1.1") is cut into: verb,
// URL and protocol, then the URL's host, port, path, query (without `?`) and
// request target (path and query, as the server saw them).
std::vector<std::string> RequestNames() {
  return {"request_verb", "request_url",   "request_proto", "request_host",
          "request_port", "request_path", "request_query", "request_uri"};
}

// One log shape: its own columns in order, the columns derived from them, the
// fewest fields a line must have, and the columns that name resources.
struct Layout {
  std::string_view what;  // for diagnostics
  std::vector<std::string> columns;
  std::vector<Derived> derived;
  size_t min_fields;
  std::vector<std::string_view> resources;
  std::shared_ptr<const FieldTable> table;  // columns, then every derived name
};

Layout MakeLayout(std::string_view what, std::vector<std::string> columns, std::vector<Derived> derived,
                  size_t min_fields, std::vector<std::string_view> resources) {
  Layout l{what, std::move(columns), std::move(derived), min_fields, std::move(resources), nullptr};
  std::vector<std::string> names = l.columns;
  for (const Derived& d : l.derived) names.insert(names.end(), d.names.begin(), d.names.end());
  l.table = std::make_shared<const FieldTable>(std::move(names));
  return l;
}

const Layout& AlbAccess() {
  static const Layout* l =
      new Layout(MakeLayout("ALB access log",
                            {"type",
                             "time",
                             "elb",
                             "client:port",
                             "target:port",
                             "request_processing_time",
                             "target_processing_time",
                             "response_processing_time",
                             "elb_status_code",
                             "target_status_code",
                             "received_bytes",
                             "sent_bytes",
                             "request",
                             "user_agent",
                             "ssl_cipher",
                             "ssl_protocol",
                             "target_group_arn",
                             "trace_id",
                             "domain_name",
                             "chosen_cert_arn",
                             "matched_rule_priority",
                             "request_creation_time",
                             "actions_executed",
                             "redirect_url",
                             "error_reason",
                             "target:port_list",
                             "target_status_code_list",
                             "classification",
                             "classification_reason",
                             "conn_trace_id"},
                            {{"client:port", Split::kHostPort, {"client_ip", "client_port"}},
                             {"target:port", Split::kHostPort, {"target_ip", "target_port"}},
                             {"request", Split::kRequest, RequestNames()}},
                            13, {"elb", "target_group_arn", "target:port"}));
  return *l;
}

const Layout& NlbAccess() {
  static const Layout* l =
      new Layout(MakeLayout("NLB access log",
                            {"type",
                             "version",
                             "time",
                             "elb",
                             "listener",
                             "client:port",
                             "destination:port",
                             "connection_time",
                             "tls_handshake_time",
                             "received_bytes",
                             "sent_bytes",
                             "incoming_tls_alert",
                             "chosen_cert_arn",
                             "chosen_cert_serial",
                             "tls_cipher",
                             "tls_protocol_version",
                             "tls_named_group",
                             "domain_name",
                             "alpn_fe_protocol",
                             "alpn_be_protocol",
                             "alpn_client_preference_list",
                             "tls_connection_creation_time"},
                            {{"client:port", Split::kHostPort, {"client_ip", "client_port"}},
                             {"destination:port", Split::kHostPort, {"destination_ip", "destination_port"}}},
                            18, {"elb", "listener", "destination:port"}));
  return *l;
}

const Layout& AlbConnection() {
  static const Layout* l =
      new Layout(MakeLayout("ALB connection log",
                            {"time", "client_ip", "client_port", "listener_port", "tls_protocol", "tls_cipher",
                             "tls_handshake_latency", "leaf_client_cert_subject", "leaf_client_cert_validity",
                             "leaf_client_cert_serial_number", "tls_verify_status", "conn_trace_id"},
                            {}, 11, {}));
  return *l;
}

const Layout& ClassicAccess() {
  static const Layout* l = new Layout(
      MakeLayout("Classic Load Balancer access log",
                 {"time", "elb", "client:port", "backend:port", "request_processing_time", "backend_processing_time",
                  "response_processing_time", "elb_status_code", "backend_status_code", "received_bytes", "sent_bytes",
                  "request", "user_agent", "ssl_cipher", "ssl_protocol"},
                 {{"client:port", Split::kHostPort, {"client_ip", "client_port"}},
                  {"backend:port", Split::kHostPort, {"backend_ip", "backend_port"}},
                  {"request", Split::kRequest, RequestNames()}},
                 12, {"elb", "backend:port"}));
  return *l;
}

// "10.0.0.1:80", "[2001:db8::1]:443" or "2001:db8::1:443" into address and port.
void SplitHostPort(std::string_view s, std::string_view* host, std::string_view* port) {
  size_t colon = s.rfind(':');
  if (s == "-" || colon == std::string_view::npos) {
    *host = s;
    *port = "-";
    return;
  }
  *host = s.substr(0, colon);
  *port = s.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
}

bool AllDigits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

// An IPv4 or IPv6 address as the logs write it (not validated further).
bool IsAddress(std::string_view s) {
  return s.size() >= 2 && s.find_first_not_of("0123456789abcdefABCDEF.:") == std::string_view::npos &&
         s.find_first_of(".:") != std::string_view::npos;
}

// Which shape a line has, from its first three fields; nullptr for none.
const Layout* Classify(const std::vector<std::string_view>& f) {
  if (f.size() < 3) return nullptr;
  std::string_view t = f[0];
  if ((t == "http" || t == "https" || t == "h2" || t == "grpcs" || t == "ws" || t == "wss") && ParseTimestamp(f[1]))
    return &AlbAccess();
  if (t == "tls" && f[1] == "2.0" && ParseTimestamp(f[2])) return &NlbAccess();
  if (!ParseTimestamp(t)) return nullptr;
  if (IsAddress(f[1]) && AllDigits(f[2])) return &AlbConnection();  // time client_ip client_port
  std::string_view host, port;
  SplitHostPort(f[2], &host, &port);
  if (IsAddress(host) && AllDigits(port)) return &ClassicAccess();  // time elb client:port
  return nullptr;
}

// "GET http://host/path HTTP/1.1" into verb, URL (which may hold spaces) and protocol.
void SplitRequest(std::string_view s, std::string_view* verb, std::string_view* url, std::string_view* proto) {
  // A request the load balancer could not read is written "- - - ".
  s = s.substr(0, s.find_last_not_of(' ') + 1);
  size_t first = s.find(' ');
  size_t last = s.rfind(' ');
  if (first == std::string_view::npos) {
    *verb = "-";
    *url = s;
    *proto = "-";
    return;
  }
  *verb = s.substr(0, first);
  *url = first == last ? s.substr(first + 1) : s.substr(first + 1, last - first - 1);
  *proto = first == last ? std::string_view() : s.substr(last + 1);
}

std::string_view OrDash(std::string_view s) { return s.empty() ? std::string_view("-") : s; }

// An absolute URL ("https://host:443/path?q", as the load balancer logs it)
// into host, port, path, query and request target. A URL without a scheme is
// taken as a request target; `-` (a request that did not parse) stays whole.
struct UrlParts {
  std::string_view host, port, path, query, target;
};

UrlParts SplitUrl(std::string_view url) {
  UrlParts u;
  if (url == "-") return u;
  std::string_view rest = url;
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    rest = url.substr(scheme + 3);
    size_t end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    SplitHostPort(authority, &u.host, &u.port);
    if (u.port == "-") u.port = {};
  }
  u.target = rest;
  size_t q = rest.find('?');
  u.path = rest.substr(0, q);
  if (q != std::string_view::npos) u.query = rest.substr(q + 1);
  return u;
}

class AlbParser final : public Parser {
 public:
  explicit AlbParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kAlb; }

  bool Recognize(std::string_view head) const override {
    // The first three fields are never quoted: split only those.
    std::vector<std::string_view> words;
    return SplitFirstLine(head, SplitOptions{.max_fields = 3}, &words) && Classify(words) != nullptr;
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    return ForEachSplitLine(in, limits_, SplitOptions{}, sink,
                            [&](std::string_view line, uint64_t index, std::vector<std::string_view>& fields) {
                              const Layout* layout = Classify(fields);
                              if (!layout) {
                                EmitBadLine(in, index, line, "not an ALB, NLB or Classic Load Balancer log line", sink);
                                return;
                              }
                              if (fields.size() < layout->min_fields) {
                                EmitBadLine(in, index, line,
                                            std::string(layout->what) + " line with " + std::to_string(fields.size()) +
                                                " fields; at least " + std::to_string(layout->min_fields) + " expected",
                                            sink);
                                return;
                              }
                              // The line's own columns (missing trailing ones as `-`, later additions
                              // dropped), then the derived ones.
                              fields.resize(layout->columns.size(), "-");
                              for (const Derived& d : layout->derived) {
                                std::string_view from = fields[layout->table->Find(d.from)];
                                std::string_view a, b, c;
                                if (d.split == Split::kHostPort) {
                                  SplitHostPort(from, &a, &b);
                                  fields.push_back(OrDash(a));
                                  fields.push_back(OrDash(b));
                                } else {
                                  SplitRequest(from, &a, &b, &c);
                                  const UrlParts u = SplitUrl(b);
                                  for (std::string_view part : {a, b, c, u.host, u.port, u.path, u.query, u.target})
                                    fields.push_back(OrDash(part));
                                }
                              }
                              Event ev;
                              StartTextEvent(kAlb, line, in.ingest_time_ns, layout->table, fields, &ev);
                              const auto& f = static_cast<const DelimitedFields&>(*ev.fields);
                              std::string warning;
                              std::string_view time = f.Text("time");
                              SetTextEventTime(ParseTimestamp(time), "time", time, &ev, &warning);
                              ev.principal = f.Text("client_ip");
                              for (std::string_view name : layout->resources) AddResource(f.Text(name), &ev);
                              EmitTextEvent(in, index, std::move(ev), warning, sink);
                            });
  }

 private:
  InputLimits limits_;
};

}  // namespace

std::unique_ptr<Parser> MakeAlbParser(const InputLimits& limits) { return std::make_unique<AlbParser>(limits); }

}  // namespace vigil
