#include "formats/vpcflow.h"

#include <algorithm>
#include <string>
#include <vector>

#include "formats/text_lines.h"

namespace vigil {
namespace {

// Every field a flow log format may name, VPC and transit gateway.
constexpr std::string_view kKnownFields[] = {"version",
                                             "account-id",
                                             "interface-id",
                                             "srcaddr",
                                             "dstaddr",
                                             "srcport",
                                             "dstport",
                                             "protocol",
                                             "packets",
                                             "bytes",
                                             "start",
                                             "end",
                                             "action",
                                             "log-status",
                                             "vpc-id",
                                             "subnet-id",
                                             "instance-id",
                                             "tcp-flags",
                                             "type",
                                             "pkt-srcaddr",
                                             "pkt-dstaddr",
                                             "region",
                                             "az-id",
                                             "sublocation-type",
                                             "sublocation-id",
                                             "pkt-src-aws-service",
                                             "pkt-dst-aws-service",
                                             "flow-direction",
                                             "traffic-path",
                                             "ecs-cluster-arn",
                                             "ecs-cluster-name",
                                             "ecs-container-instance-arn",
                                             "ecs-container-instance-id",
                                             "ecs-container-id",
                                             "ecs-second-container-id",
                                             "ecs-service-name",
                                             "ecs-task-definition-arn",
                                             "ecs-task-arn",
                                             "ecs-task-id",
                                             "reject-reason",
                                             "resource-type",
                                             "tgw-id",
                                             "tgw-attachment-id",
                                             "tgw-src-vpc-account-id",
                                             "tgw-dst-vpc-account-id",
                                             "tgw-src-vpc-id",
                                             "tgw-dst-vpc-id",
                                             "tgw-src-subnet-id",
                                             "tgw-dst-subnet-id",
                                             "tgw-src-eni",
                                             "tgw-dst-eni",
                                             "tgw-src-az-id",
                                             "tgw-dst-az-id",
                                             "tgw-pair-attachment-id",
                                             "packet-lost-no-route",
                                             "packet-lost-blackhole",
                                             "packet-lost-mtu-exceeded",
                                             "packet-lost-ttl-expired"};

constexpr size_t kV2Fields = 14;

bool IsKnownField(std::string_view name) {
  return std::find(std::begin(kKnownFields), std::end(kKnownFields), name) != std::end(kKnownFields);
}

const std::shared_ptr<const FieldTable>& V2Table() {
  static const auto* table = new std::shared_ptr<const FieldTable>(std::make_shared<const FieldTable>(
      std::vector<std::string>(std::begin(kKnownFields), std::begin(kKnownFields) + kV2Fields)));
  return *table;
}

// A header line: its first word names a flow log field (no record starts so:
// records start with a version number or a value).
bool IsHeader(const std::vector<std::string_view>& words) { return !words.empty() && IsKnownField(words[0]); }

// The first line of a default-format (v2) file: 14 fields, version 2, a log status.
bool IsV2Record(const std::vector<std::string_view>& words) {
  if (words.size() != kV2Fields || words[0] != "2") return false;
  std::string_view status = words[13];
  return status == "OK" || status == "NODATA" || status == "SKIPDATA";
}

class VpcFlowParser final : public Parser {
 public:
  explicit VpcFlowParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kVpcFlow; }

  bool Recognize(std::string_view head) const override {
    std::vector<std::string_view> words;
    if (!SplitFirstLine(head, SplitOptions{.max_fields = 128}, &words)) return false;
    if (IsV2Record(words)) return true;
    return words.size() >= 2 && std::all_of(words.begin(), words.end(), IsKnownField);
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    std::shared_ptr<const FieldTable> table = V2Table();
    bool from_header = false;
    std::string header;  // the header line a record's raw bytes start with; empty for the default layout
    std::string raw;
    return ForEachSplitLine(
        in, limits_, SplitOptions{.max_fields = 256}, sink,
        [&](std::string_view line, uint64_t index, std::vector<std::string_view>& words) {
          if (IsHeader(words)) {
            table = std::make_shared<const FieldTable>(std::vector<std::string>(words.begin(), words.end()));
            from_header = true;
            header.clear();
            if (table->names() != V2Table()->names()) header.assign(line).append("\n");
            return;
          }
          if (words.size() != table->size()) {
            EmitBadLine(in, index, line,
                        std::to_string(words.size()) + " fields where " +
                            (from_header ? "the header line names " : "the default (v2) format has ") +
                            std::to_string(table->size()),
                        sink);
            return;
          }
          Event ev;
          raw.assign(header).append(line);
          StartTextEvent(kVpcFlow, raw, in.ingest_time_ns, table, words, &ev);
          const auto& f = static_cast<const DelimitedFields&>(*ev.fields);
          std::string_view version = f.Text("version");
          if (!version.empty() && version.find_first_not_of("0123456789") != std::string_view::npos) {
            EmitBadLine(in, index, line, "version \"" + std::string(version.substr(0, 64)) + "\" is not a number",
                        sink);
            return;
          }
          std::string warning;
          std::string_view start = f.Text("start");
          SetTextEventTime(ParseUnixSeconds(start), "start", start, &ev, &warning);
          ev.account = f.Text("account-id");
          ev.principal = f.Text("interface-id");
          if (ev.principal.empty()) ev.principal = f.Text("srcaddr");
          for (std::string_view name : {"interface-id", "instance-id", "tgw-attachment-id"})
            AddResource(f.Text(name), &ev);
          EmitTextEvent(in, index, std::move(ev), warning, sink);
        });
  }

 private:
  InputLimits limits_;
};

}  // namespace

std::unique_ptr<Parser> MakeVpcFlowParser(const InputLimits& limits) { return std::make_unique<VpcFlowParser>(limits); }

}  // namespace vigil
