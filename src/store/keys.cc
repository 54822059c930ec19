#include "store/keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "common/json_escape.h"

namespace vigil {
namespace {

bool ValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

MasterKey::~MasterKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Status KeyRing::Add(const MasterKey& key) {
  if (const MasterKey* old = Find(key.id)) {
    if (old->bytes == key.bytes) return Status::Ok();
    return Status::InvalidArgument("master key " + key.id + " is given twice with different bytes");
  }
  keys_.push_back(key);
  return Status::Ok();
}

const MasterKey* KeyRing::Find(std::string_view id) const {
  for (const MasterKey& k : keys_)
    if (k.id == id) return &k;
  return nullptr;
}

std::string KeyRing::Ids() const {
  std::string out;
  for (const MasterKey& k : keys_) out += (out.empty() ? "" : ", ") + k.id;
  return out;
}

Result<MasterKey> ParseMasterKey(std::string_view text, const std::string& where) {
  text = Trim(text);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument(where + ": expected a master key as <id>:<64 hex digits>");
  }
  MasterKey key;
  key.id.assign(text.substr(0, colon));
  if (!ValidKeyId(key.id)) {
    return Status::InvalidArgument(where + ": master key id '" + key.id +
                                   "' must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  std::string_view hex = text.substr(colon + 1);
  if (hex.size() != 64) {
    return Status::InvalidArgument(where + ": master key " + key.id + " must be 64 hex digits (32 bytes), got " +
                                   std::to_string(hex.size()) + " characters");
  }
  for (size_t i = 0; i < 32; ++i) {
    int hi = json_internal::HexValue(hex[2 * i]), lo = json_internal::HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument(where + ": master key " + key.id + " has a non-hex digit");
    key.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

Result<std::shared_ptr<const KeyRing>> LoadKeyRing(const KeySources& sources, Env* env) {
  if (sources.empty()) return std::shared_ptr<const KeyRing>();
  auto ring = std::make_shared<KeyRing>();
  for (const std::string& file : sources.files) {
    std::string text;
    Status st = env->ReadFile(file, &text);
    if (!st.ok()) return st.WithContext("master key file " + file);
    size_t line_no = 0, found = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = Trim(rest.substr(0, nl));
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      ++line_no;
      if (line.empty() || line[0] == '#') continue;
      auto key = ParseMasterKey(line, "master key file " + file + " line " + std::to_string(line_no));
      if (!key.ok()) return key.status();
      VIGIL_RETURN_IF_ERROR(ring->Add(*key).WithContext("master key file " + file));
      ++found;
    }
    OPENSSL_cleanse(text.data(), text.size());
    if (found == 0) return Status::InvalidArgument("master key file " + file + " holds no key (<id>:<64 hex digits>)");
  }
  for (const std::string& var : sources.env_vars) {
    const char* v = std::getenv(var.c_str());
    if (v == nullptr || *v == '\0') {
      return Status::NotFound("environment variable " + var + " (a master key) is not set");
    }
    auto key = ParseMasterKey(v, "environment variable " + var);
    if (!key.ok()) return key.status();
    VIGIL_RETURN_IF_ERROR(ring->Add(*key).WithContext("environment variable " + var));
  }
  return std::shared_ptr<const KeyRing>(std::move(ring));
}

Result<std::string> GenerateMasterKey(const std::string& id) {
  if (!ValidKeyId(id)) {
    return Status::InvalidArgument("master key id '" + id + "' must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  uint8_t bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("cannot draw random bytes for a master key");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = id + ":";
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
  OPENSSL_cleanse(bytes, sizeof bytes);
  return out;
}

}  // namespace vigil
