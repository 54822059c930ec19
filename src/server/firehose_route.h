// The Firehose HTTP endpoint (server/firehose.h) on serve's HTTP listener:
// `POST <firehose.path>` (default /api/v1/firehose), authenticated by the
// stream's access key instead of the ingest bearer token.
#pragma once

#include <memory>

#include "common/metrics.h"
#include "common/status.h"
#include "ingest/intake.h"
#include "server/config.h"
#include "server/firehose.h"
#include "server/http_server.h"

namespace vigil::server {

// Registers the route on `http` (before Start). The returned endpoint serves
// it and must outlive the server's serving (destroy it after Stop). Errors: no
// key resolvable (config.firehose.ResolveKeys).
Result<std::unique_ptr<FirehoseEndpoint>> AddFirehoseRoute(HttpServer& http, const ServeConfig& config,
                                                           Intake* intake, MetricsRegistry* metrics);

}  // namespace vigil::server
