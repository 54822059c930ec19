// LocalS3: a local S3-compatible server (tests/s3/server.js: s3rver behind a
// SigV4 signature check, both installed into tests/s3/node_modules by `make
// deps`) on a free port with a temporary directory, for the tests of the S3
// client and the S3 source. Key pair: S3RVER / S3RVER.
//
// A missing prerequisite is an error with the fix in its message: tests fail
// on it, they do not skip.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace vigil::testing {

class LocalS3 {
 public:
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

  ~LocalS3() { Shutdown(); }

  // Empty on success, else what went wrong.
  std::string Start() {
    std::string s3 = std::string(VIGIL_SOURCE_DIR) + "/tests/s3/";
    std::string script = s3 + "server.js";
    for (const char* package : {"s3rver", "aws4"}) {
      if (!std::filesystem::exists(s3 + "node_modules/" + package + "/package.json")) {
        return std::string("npm package ") + package + " is not installed in " + s3 +
               "node_modules: run `make deps` (npm ci in tests/s3)";
      }
    }
    dir_ = std::filesystem::temp_directory_path() / ("vigil-s3rver-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      execlp("node", "node", "--openssl-legacy-provider", script.c_str(), dir_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    // server.js prints "S3rver listening on 127.0.0.1:PORT" once it accepts connections.
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[512];
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
      size_t at = text.find("listening on ");
      if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
        size_t colon = text.find(':', at);
        port_ = std::stoi(text.substr(colon + 1));
        return "";
      }
    }
    return "s3rver did not start (is `node` installed? `make deps` installs nodejs): output: " + text;
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Shutdown() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (out_ >= 0) close(out_);
    out_ = -1;
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  std::filesystem::path dir_;
};

}  // namespace vigil::testing
