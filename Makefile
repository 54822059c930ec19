# vigil — top-level entry points. `make demo` and `make test` do all set-up on
# a fresh Debian machine (packages, build, run).

BUILD_DIR ?= build
SAN_DIR   ?= build-asan
FUZZ_DIR  ?= build-fuzz
JOBS      ?= $(shell nproc)
FUZZ_SECONDS ?= 60
BENCH_EVENTS ?= 1000000

# Debian packages vigil builds and tests with.
DEB_PACKAGES := build-essential cmake pkg-config clang libclang-rt-14-dev python3 zstd time \
  libsimdjson-dev libdeflate-dev libyaml-cpp-dev libcli11-dev libxxhash-dev libre2-dev \
  libzstd-dev libsqlite3-dev libssl-dev libfmt-dev zlib1g-dev libvectorscan-dev \
  libgoogle-perftools-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libcpp-httplib-dev libcurl4-openssl-dev libmaxminddb-dev nodejs ripgrep

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo test sanitize bench fuzz format tidy clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all packages present"; fi
	@# npm packages the tests use (tests/s3: a local S3 server), installed from the lockfile.
	@if [ ! tests/s3/node_modules/.package-lock.json -nt tests/s3/package-lock.json ]; then \
	  echo "installing npm packages in tests/s3"; cd tests/s3 && npm ci --no-audit --no-fund --loglevel=error; \
	fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

demo: build
	$(BUILD_DIR)/src/cli/vigil demo

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

# Unit and end-to-end tests under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize: deps
	cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON -DVIGIL_BENCH=OFF
	cmake --build $(SAN_DIR) -j$(JOBS)
	cd $(SAN_DIR) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS) --timeout 1200

bench: build
	bench/run_ingest_bench.sh $(BUILD_DIR) $(BENCH_EVENTS)
	bench/run_rules_bench.sh $(BUILD_DIR) 200000
	bench/run_http_bench.sh $(BUILD_DIR) 15 20000
	$(BUILD_DIR)/bench/intel_bench ../shared/data rules 300
	bench/run_store_bench.sh $(BUILD_DIR) $(BENCH_EVENTS)

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_FUZZ=ON -DVIGIL_TESTS=OFF -DVIGIL_BENCH=OFF
	cmake --build $(FUZZ_DIR) -j$(JOBS) --target cloudtrail_parser_fuzzer guardduty_parser_fuzzer securityhub_parser_fuzzer sigma_loader_fuzzer query_parser_fuzzer segment_reader_fuzzer segment_v2_reader_fuzzer json_scan_fuzzer \
	  cloudwatch_pattern_fuzzer vpcflow_parser_fuzzer route53resolver_parser_fuzzer alb_parser_fuzzer s3access_parser_fuzzer \
	  cloudwatchlogs_parser_fuzzer syslog_parser_fuzzer json_parser_fuzzer json_split_fuzzer firehose_request_fuzzer \
	  syslog_framing_fuzzer wal_recovery_fuzzer ingest_body_fuzzer s3_list_fuzzer \
	  stix_feed_fuzzer misp_feed_fuzzer intelcsv_feed_fuzzer intellist_feed_fuzzer segment_key_fuzzer \
	  behaviour_rule_fuzzer cold_stub_fuzzer sigma_yaml_subset_fuzzer compaction_marker_fuzzer
	fuzz/run_all.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

format:
	find src tests fuzz bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

tidy: $(BUILD_DIR)/CMakeCache.txt
	find src -name '*.cc' ! -name '*_test.cc' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) $(FUZZ_DIR)
