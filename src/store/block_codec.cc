#include "store/block_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>

#include "common/hash.h"

namespace vigil::segment {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kSegmentIdBytes = 16;
constexpr char kKeyFileMagic[8] = {'V', 'I', 'G', 'I', 'L', 'K', 'E', 'Y'};
constexpr uint32_t kKeyFileVersion = 1;
constexpr uint32_t kAlgAes256Gcm = 1;
// Associated-data prefixes: a wrapped key can never pass for a block or back.
constexpr std::string_view kBlockAad = "vigil-block-v1";
constexpr std::string_view kWrapAad = "vigil-data-key-v1";

using DataKey = std::array<uint8_t, kKeyBytes>;
using SegmentId = std::array<uint8_t, kSegmentIdBytes>;

void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

Status RandomBytes(uint8_t* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) return Status::Internal("cannot draw random bytes (OpenSSL RAND_bytes)");
  return Status::Ok();
}

// One AES-256-GCM context, re-keyed per call (the key schedule is cheap next
// to a block of up to a MiB).
class Gcm {
 public:
  Gcm() : ctx_(EVP_CIPHER_CTX_new()) {}
  ~Gcm() { EVP_CIPHER_CTX_free(ctx_); }
  Gcm(const Gcm&) = delete;
  Gcm& operator=(const Gcm&) = delete;

  // Appends nonce || ciphertext || tag to *out.
  Status Seal(const uint8_t* key, std::string_view aad, std::string_view plain, std::string* out) {
    if (ctx_ == nullptr) return Status::Internal("OpenSSL: cannot create a cipher context");
    uint8_t nonce[kNonceBytes];
    VIGIL_RETURN_IF_ERROR(RandomBytes(nonce, sizeof nonce));
    const size_t start = out->size();
    out->resize(start + kNonceBytes + plain.size() + kTagBytes);
    auto* dst = reinterpret_cast<uint8_t*>(out->data() + start);
    std::memcpy(dst, nonce, kNonceBytes);
    int len = 0, fin = 0;
    bool ok = EVP_EncryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
              EVP_EncryptInit_ex(ctx_, nullptr, nullptr, key, nonce) == 1 &&
              EVP_EncryptUpdate(ctx_, nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                                static_cast<int>(aad.size())) == 1 &&
              EVP_EncryptUpdate(ctx_, dst + kNonceBytes, &len, reinterpret_cast<const uint8_t*>(plain.data()),
                                static_cast<int>(plain.size())) == 1 &&
              EVP_EncryptFinal_ex(ctx_, dst + kNonceBytes + len, &fin) == 1 &&
              static_cast<size_t>(len + fin) == plain.size() &&
              EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kTagBytes, dst + kNonceBytes + plain.size()) == 1;
    if (!ok) {
      out->resize(start);
      return Status::Internal("OpenSSL: AES-256-GCM encryption failed");
    }
    return Status::Ok();
  }

  // Replaces *out with the plaintext; false when `sealed` does not authenticate.
  bool Open(const uint8_t* key, std::string_view aad, std::string_view sealed, std::string* out) {
    if (ctx_ == nullptr || sealed.size() < kNonceBytes + kTagBytes) {
      out->clear();
      return false;
    }
    const auto* src = reinterpret_cast<const uint8_t*>(sealed.data());
    const size_t n = sealed.size() - kNonceBytes - kTagBytes;
    out->resize(n);
    uint8_t tag[kTagBytes];
    std::memcpy(tag, src + kNonceBytes + n, kTagBytes);
    int len = 0, fin = 0;
    auto* dst = reinterpret_cast<uint8_t*>(out->data());
    bool ok = EVP_DecryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
              EVP_DecryptInit_ex(ctx_, nullptr, nullptr, key, src) == 1 &&
              EVP_DecryptUpdate(ctx_, nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                                static_cast<int>(aad.size())) == 1 &&
              EVP_DecryptUpdate(ctx_, dst, &len, src + kNonceBytes, static_cast<int>(n)) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1 &&
              EVP_DecryptFinal_ex(ctx_, dst + len, &fin) == 1;
    if (!ok) {
      // Never hand on unauthenticated plaintext.
      OPENSSL_cleanse(out->data(), out->size());
      out->clear();
    }
    return ok;
  }

 private:
  EVP_CIPHER_CTX* ctx_;
};

class AesGcmCodec final : public BlockCodec {
 public:
  AesGcmCodec(const DataKey& key, const SegmentId& id, std::string path) : key_(key), id_(id), path_(std::move(path)) {}
  ~AesGcmCodec() override { OPENSSL_cleanse(key_.data(), key_.size()); }

  size_t overhead() const override { return kNonceBytes + kTagBytes; }

  Status Seal(uint64_t index, std::string_view plain, std::string* out) override {
    return gcm_.Seal(key_.data(), Aad(index), plain, out);
  }

  Status Open(uint64_t index, std::string_view sealed, std::string* out) override {
    if (!gcm_.Open(key_.data(), Aad(index), sealed, out)) {
      return Status::Corruption("segment " + path_ + ": block " + std::to_string(index) +
                                " fails authentication (altered, or not this segment's block " +
                                std::to_string(index) + ")");
    }
    return Status::Ok();
  }

 private:
  // Binds a block to its segment and position.
  std::string_view Aad(uint64_t index) {
    aad_.assign(kBlockAad);
    aad_.append(reinterpret_cast<const char*>(id_.data()), id_.size());
    PutFixed64(&aad_, index);
    return aad_;
  }

  DataKey key_;
  SegmentId id_;
  std::string path_;
  std::string aad_;
  Gcm gcm_;
};

// Key file (all integers little-endian):
//   0  8  magic "VIGILKEY"      8  4  version 1        12 4  algorithm 1 (AES-256-GCM)
//   16 16 segment id            32 1  key id length n  33 n  master key id
//   then 12 nonce + 32 wrapped data key + 16 tag, then 4 Checksum32 of all before.
struct KeyFile {
  SegmentId segment_id{};
  std::string key_id;
  std::string wrapped;  // nonce || ciphertext || tag
};

std::string WrapAad(const SegmentId& id, std::string_view key_id) {
  std::string aad(kWrapAad);
  aad.append(reinterpret_cast<const char*>(id.data()), id.size());
  aad.append(key_id);
  return aad;
}

std::string EncodeKeyFile(const KeyFile& k) {
  std::string out(kKeyFileMagic, sizeof kKeyFileMagic);
  PutFixed32(&out, kKeyFileVersion);
  PutFixed32(&out, kAlgAes256Gcm);
  out.append(reinterpret_cast<const char*>(k.segment_id.data()), k.segment_id.size());
  out.push_back(static_cast<char>(k.key_id.size()));
  out.append(k.key_id);
  out.append(k.wrapped);
  PutFixed32(&out, Checksum32(out));
  return out;
}

Result<KeyFile> ReadKeyFile(Env* env, const std::string& path) {
  std::string buf;
  Status st = env->ReadFile(path, &buf);
  if (st.code() == StatusCode::kNotFound) return Status::Corruption("segment key file " + path + " is missing");
  VIGIL_RETURN_IF_ERROR(st);
  auto bad = [&](const std::string& what) { return Status::Corruption("segment key file " + path + ": " + what); };
  constexpr size_t kFixed = 8 + 4 + 4 + kSegmentIdBytes + 1;
  constexpr size_t kWrapped = kNonceBytes + kKeyBytes + kTagBytes;
  if (buf.size() < kFixed + kWrapped + 4 || std::memcmp(buf.data(), kKeyFileMagic, sizeof kKeyFileMagic) != 0) {
    return bad("not a key file");
  }
  if (Checksum32(std::string_view(buf.data(), buf.size() - 4)) != GetFixed32(buf.data() + buf.size() - 4)) {
    return bad("checksum mismatch");
  }
  if (GetFixed32(buf.data() + 8) != kKeyFileVersion || GetFixed32(buf.data() + 12) != kAlgAes256Gcm) {
    return Status::Unsupported("segment key file " + path + ": version " + std::to_string(GetFixed32(buf.data() + 8)) +
                               ", algorithm " + std::to_string(GetFixed32(buf.data() + 12)) +
                               "; this vigil reads version 1, algorithm 1 (AES-256-GCM)");
  }
  KeyFile k;
  std::memcpy(k.segment_id.data(), buf.data() + 16, kSegmentIdBytes);
  const size_t n = static_cast<unsigned char>(buf[32]);
  if (n == 0 || buf.size() != kFixed + n + kWrapped + 4) return bad("malformed");
  k.key_id.assign(buf.data() + kFixed, n);
  k.wrapped.assign(buf.data() + kFixed + n, kWrapped);
  return k;
}

Status WriteKeyFile(Env* env, const std::string& path, const KeyFile& k) {
  return env->WriteFileAtomic(path, EncodeKeyFile(k)).WithContext("writing segment key file " + path);
}

Result<KeyFile> Wrap(const DataKey& data_key, const SegmentId& id, const MasterKey& master) {
  KeyFile k;
  k.segment_id = id;
  k.key_id = master.id;
  Gcm gcm;
  VIGIL_RETURN_IF_ERROR(gcm.Seal(master.bytes.data(), WrapAad(id, master.id),
                                 std::string_view(reinterpret_cast<const char*>(data_key.data()), data_key.size()),
                                 &k.wrapped));
  return k;
}

// The data key of a key file, or the clear error why the ring cannot open it.
Result<DataKey> Unwrap(const KeyFile& k, const KeyRing* ring, const std::string& segment_path) {
  if (ring == nullptr || ring->empty()) {
    return Status::FailedPrecondition("segment " + segment_path + " is encrypted (master key " + k.key_id +
                                      "); no master key was given (--key-file or --key-env, or encryption.key_files "
                                      "or encryption.key_env in the configuration)");
  }
  const MasterKey* master = ring->Find(k.key_id);
  if (master == nullptr) {
    return Status::FailedPrecondition("master key " + ring->Ids() + " does not open segment " + segment_path +
                                      ": its data key is wrapped by master key " + k.key_id);
  }
  Gcm gcm;
  std::string plain;
  if (!gcm.Open(master->bytes.data(), WrapAad(k.segment_id, k.key_id), k.wrapped, &plain) ||
      plain.size() != kKeyBytes) {
    return Status::FailedPrecondition("master key " + k.key_id + " does not open segment " + segment_path +
                                      ": the key given for id " + k.key_id +
                                      " is not the one that wrapped it (or its key file was altered)");
  }
  DataKey key;
  std::memcpy(key.data(), plain.data(), kKeyBytes);
  OPENSSL_cleanse(plain.data(), plain.size());
  return key;
}

}  // namespace

std::string KeyFilePath(std::string_view segment_path) { return std::string(segment_path) + kKeyFileSuffix; }

Result<std::unique_ptr<BlockCodec>> CreateSegmentKey(Env* env, const std::string& segment_path, const KeyRing& ring) {
  const MasterKey* master = ring.active();
  if (master == nullptr) return Status::InvalidArgument("encrypting segment " + segment_path + ": no master key");
  DataKey key;
  SegmentId id;
  VIGIL_RETURN_IF_ERROR(RandomBytes(key.data(), key.size()));
  VIGIL_RETURN_IF_ERROR(RandomBytes(id.data(), id.size()));
  auto wrapped = Wrap(key, id, *master);
  if (!wrapped.ok()) return wrapped.status();
  VIGIL_RETURN_IF_ERROR(WriteKeyFile(env, KeyFilePath(segment_path), *wrapped));
  auto codec = std::make_unique<AesGcmCodec>(key, id, segment_path);
  OPENSSL_cleanse(key.data(), key.size());
  return std::unique_ptr<BlockCodec>(std::move(codec));
}

void AbandonSegmentKey(Env* env, const std::string& segment_path) { (void)env->RemoveFile(KeyFilePath(segment_path)); }

Result<std::unique_ptr<BlockCodec>> OpenSegmentKey(Env* env, const std::string& segment_path, const KeyRing* ring) {
  auto k = ReadKeyFile(env, KeyFilePath(segment_path));
  if (!k.ok()) return k.status();
  auto key = Unwrap(*k, ring, segment_path);
  if (!key.ok()) return key.status();
  auto codec = std::make_unique<AesGcmCodec>(*key, k->segment_id, segment_path);
  OPENSSL_cleanse(key->data(), key->size());
  return std::unique_ptr<BlockCodec>(std::move(codec));
}

Result<SegmentKeyInfo> ReadSegmentKeyInfo(Env* env, const std::string& key_file_path) {
  auto k = ReadKeyFile(env, key_file_path);
  if (!k.ok()) return k.status();
  return SegmentKeyInfo{k->key_id};
}

Result<bool> RewrapSegmentKey(Env* env, const std::string& key_file_path, const KeyRing& ring) {
  const MasterKey* active = ring.active();
  if (active == nullptr) return Status::InvalidArgument("key rotation needs a master key");
  auto k = ReadKeyFile(env, key_file_path);
  if (!k.ok()) return k.status();
  if (k->key_id == active->id) return false;
  std::string segment_path = key_file_path.substr(0, key_file_path.size() - std::strlen(kKeyFileSuffix));
  auto key = Unwrap(*k, &ring, segment_path);
  if (!key.ok()) return key.status();
  auto wrapped = Wrap(*key, k->segment_id, *active);
  OPENSSL_cleanse(key->data(), key->size());
  if (!wrapped.ok()) return wrapped.status();
  VIGIL_RETURN_IF_ERROR(WriteKeyFile(env, key_file_path, *wrapped));
  return true;
}

}  // namespace vigil::segment
