#include "store/dead_letters.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/base64.h"
#include "common/hash.h"
#include "common/time.h"
#include "common/json_escape.h"
#include "common/json_writer.h"

namespace vigil {
namespace {

std::string DayFileName(int64_t time_ns) {
  CivilDate c = CivilFromDays(DayNumber(time_ns));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d.ndjson", c.year, c.month, c.day);
  return buf;
}

// True for a day file's name ("<YYYY-MM-DD>.ndjson" as DayFileName makes it,
// or any other "*.ndjson" a reader should list).
bool IsDayFileName(std::string_view name) { return name.size() > 7 && name.ends_with(".ndjson"); }

// A mark: "<day file>\t<length>\t<hash of the line ending there, hex>".
// The hash covers the line with its '\n'.
uint64_t LineHash(std::string_view line) { return Hash64(line); }

std::string FormatMark(const std::string& name, uint64_t length, uint64_t last_line_hash) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(last_line_hash));
  return name + "\t" + std::to_string(length) + "\t" + hash;
}

bool ParseMark(std::string_view mark, std::string* name, uint64_t* length, uint64_t* hash) {
  const size_t t1 = mark.find('\t');
  if (t1 == std::string_view::npos) return false;
  const size_t t2 = mark.find('\t', t1 + 1);
  if (t2 == std::string_view::npos) return false;
  // An empty name: before every day file (there were none).
  name->assign(mark.substr(0, t1));
  if (!name->empty() && (name->find('/') != std::string::npos || !IsDayFileName(*name))) return false;
  const std::string_view len = mark.substr(t1 + 1, t2 - t1 - 1), h = mark.substr(t2 + 1);
  auto r1 = std::from_chars(len.data(), len.data() + len.size(), *length);
  auto r2 = std::from_chars(h.data(), h.data() + h.size(), *hash, 16);
  return r1.ec == std::errc() && r1.ptr == len.data() + len.size() && r2.ec == std::errc() &&
         r2.ptr == h.data() + h.size() && h.size() == 16 && (!name->empty() || *length == 0);
}

void SkipWs(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r')) ++*i;
}

// Parses one line written by FormatDeadLetter (tolerating reordered keys,
// whitespace and unknown keys with scalar values).
bool ParseDeadLetter(std::string_view line, StoredDeadLetter* out) {
  *out = StoredDeadLetter{};
  size_t i = 0;
  SkipWs(line, &i);
  if (i >= line.size() || line[i] != '{') return false;
  ++i;
  bool have_time = false, have_raw = false;
  std::string key, text, time_text;
  for (;;) {
    SkipWs(line, &i);
    if (i < line.size() && line[i] == '}' && key.empty()) {
      ++i;
      break;
    }
    key.clear();
    if (!ReadJsonString(line, &i, &key)) return false;
    SkipWs(line, &i);
    if (i >= line.size() || line[i] != ':') return false;
    ++i;
    SkipWs(line, &i);
    if (i >= line.size()) return false;
    text.clear();
    bool is_string = line[i] == '"';
    if (is_string) {
      if (!ReadJsonString(line, &i, &text)) return false;
    } else {
      size_t start = i;
      while (i < line.size() && line[i] != ',' && line[i] != '}' && line[i] != ' ') ++i;
      text.assign(line.substr(start, i - start));
    }
    auto as_uint = [&](uint64_t* v) {
      if (is_string || text.empty()) return false;
      uint64_t r = 0;
      for (char c : text) {
        if (c < '0' || c > '9') return false;
        r = r * 10 + static_cast<uint64_t>(c - '0');
      }
      *v = r;
      return true;
    };
    if (key == "time") {
      if (!is_string) return false;
      auto t = ParseTimestamp(text);
      if (!t) return false;
      out->time_ns = *t;
      have_time = true;
    } else if (key == "input" && is_string) {
      out->input = text;
    } else if (key == "record") {
      if (!as_uint(&out->record)) return false;
    } else if (key == "reason" && is_string) {
      out->reason = text;
    } else if (key == "raw" && is_string) {
      out->raw = text;
      have_raw = true;
    } else if (key == "raw_base64" && is_string) {
      Result<std::string> raw = Base64Decode(text);
      if (!raw.ok()) return false;
      out->raw = std::move(raw).value();
      have_raw = true;
    } else if (key == "truncated") {
      out->truncated = !is_string && text == "true";
    } else if (key == "raw_bytes") {
      if (!as_uint(&out->raw_bytes)) return false;
    }
    SkipWs(line, &i);
    if (i < line.size() && line[i] == ',') {
      ++i;
      continue;
    }
    if (i < line.size() && line[i] == '}') {
      ++i;
      break;
    }
    return false;
  }
  SkipWs(line, &i);
  if (i != line.size() || !have_time || !have_raw) return false;
  if (!out->truncated) out->raw_bytes = out->raw.size();
  return true;
}

}  // namespace

namespace {

// `raw_bytes`: the size of the record before any earlier truncation.
std::string FormatLine(int64_t time_ns, std::string_view input, uint64_t record, std::string_view reason,
                       std::string_view raw, uint64_t raw_bytes) {
  std::string line;
  line.reserve(raw.size() + input.size() + reason.size() + 128);
  line.append("{\"time\":");
  AppendJsonString(&line, FormatRfc3339(time_ns));
  line.append(",\"input\":");
  AppendJsonString(&line, IsValidUtf8(input) ? input : std::string_view("(binary)"));
  line.append(",\"record\":");
  line.append(std::to_string(record));
  line.append(",\"reason\":");
  AppendJsonString(&line, IsValidUtf8(reason) ? reason : std::string_view("(binary)"));
  bool utf8 = IsValidUtf8(raw);
  if (raw.size() > kDeadLetterMaxRaw) {
    raw = raw.substr(0, utf8 ? Utf8PrefixLength(raw, kDeadLetterMaxRaw) : kDeadLetterMaxRaw);
  }
  bool truncated = raw_bytes > raw.size();
  if (utf8) {
    line.append(",\"raw\":");
    AppendJsonString(&line, raw);
  } else {
    line.append(",\"raw_base64\":\"");
    line.append(Base64Encode(raw));
    line.push_back('"');
  }
  if (truncated) {
    line.append(",\"truncated\":true,\"raw_bytes\":");
    line.append(std::to_string(raw_bytes));
  }
  line.append("}\n");
  return line;
}

}  // namespace

std::string FormatDeadLetter(const DeadLetter& letter, int64_t time_ns) {
  return FormatLine(time_ns, letter.input, letter.record, letter.reason, letter.raw, letter.raw.size());
}

std::string FormatStoredDeadLetter(const StoredDeadLetter& letter) {
  return FormatLine(letter.time_ns, letter.input, letter.record, letter.reason, letter.raw,
                    letter.truncated ? letter.raw_bytes : letter.raw.size());
}

Status DeadLetterWriter::Append(const DeadLetter& letter, int64_t time_ns) {
  std::string line = FormatDeadLetter(letter, time_ns);
  std::string name = DayFileName(time_ns);
  std::lock_guard<std::mutex> l(mu_);
  if (file_ == nullptr || name != file_name_) {
    if (file_ != nullptr) {
      VIGIL_RETURN_IF_ERROR(file_->Sync());
      VIGIL_RETURN_IF_ERROR(file_->Close());
      file_.reset();
    }
    bool created = false;
    if (!env_->FileExists(dir_)) {
      VIGIL_RETURN_IF_ERROR(env_->CreateDirs(dir_));
      created = true;
    }
    std::string path = JoinPath(dir_, name);
    bool existed = env_->FileExists(path);
    VIGIL_ASSIGN_OR_RETURN(file_, env_->NewAppendableFile(path));
    file_name_ = name;
    if (!existed || created) VIGIL_RETURN_IF_ERROR(env_->SyncDir(dir_));
    if (file_->Size() > 0) {
      // A crash may have torn the last line; start on a fresh line so that
      // only the torn line is lost.
      std::string last;
      auto reader = env_->NewRandomAccessFile(path);
      if (reader.ok() && (*reader)->Read(file_->Size() - 1, 1, &last).ok() && last != "\n") {
        VIGIL_RETURN_IF_ERROR(file_->Append("\n"));
      }
    }
  }
  VIGIL_RETURN_IF_ERROR(file_->Append(line));
  last_line_hash_ = LineHash(line);
  return Status::Ok();
}

Status DeadLetterWriter::Sync() {
  std::lock_guard<std::mutex> l(mu_);
  return file_ == nullptr ? Status::Ok() : file_->Sync();
}

std::string DeadLetterWriter::Mark() {
  std::lock_guard<std::mutex> l(mu_);
  if (file_ == nullptr) return {};
  return FormatMark(file_name_, file_->Size(), last_line_hash_);
}

namespace {

// The day files under `dir`, oldest first; none when `dir` does not exist.
Status DayFiles(Env* env, const std::string& dir, std::vector<std::string>* names) {
  std::vector<DirEntry> entries;
  Status s = env->ListDir(dir, &entries);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  VIGIL_RETURN_IF_ERROR(s);
  for (const DirEntry& e : entries) {
    if (!e.is_dir && IsDayFileName(e.name)) {
      names->push_back(e.name);
    }
  }
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

// Calls `fn` with each line of `path` (without its '\n'; a last line without
// one included) and whether it is the last; stop by returning false. Files are
// read in chunks so memory stays bounded by the longest line.
Status ForEachLine(Env* env, const std::string& path, const std::function<bool(std::string_view)>& fn,
                   bool* stopped) {
  constexpr size_t kChunk = 1 << 20;
  *stopped = false;
  VIGIL_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  std::string pending, chunk;
  for (uint64_t offset = 0; offset < file->Size(); offset += kChunk) {
    VIGIL_RETURN_IF_ERROR(file->Read(offset, kChunk, &chunk));
    if (chunk.empty()) break;
    pending.append(chunk);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!fn(std::string_view(pending).substr(start, nl - start))) {
        *stopped = true;
        return Status::Ok();
      }
    }
    pending.erase(0, start);
  }
  if (!pending.empty() && !fn(pending)) *stopped = true;
  return Status::Ok();
}

}  // namespace

Status ListDeadLetters(Env* env, const std::string& dir, const std::function<bool(const StoredDeadLetter&)>& fn,
                       DeadLetterStats* stats) {
  DeadLetterStats local;
  DeadLetterStats* st = stats != nullptr ? stats : &local;
  *st = DeadLetterStats{};
  std::vector<std::string> names;
  VIGIL_RETURN_IF_ERROR(DayFiles(env, dir, &names));
  StoredDeadLetter letter;
  auto handle_line = [&](std::string_view line) {
    if (line.empty()) return true;
    if (!ParseDeadLetter(line, &letter)) {
      ++st->malformed_lines;
      return true;
    }
    ++st->count;
    return !fn || fn(letter);
  };
  for (const std::string& name : names) {
    ++st->files;
    bool stopped = false;
    VIGIL_RETURN_IF_ERROR(ForEachLine(env, JoinPath(dir, name), handle_line, &stopped));
    if (stopped) break;
  }
  return Status::Ok();
}

Status RewriteDeadLetters(Env* env, const std::string& dir,
                          const std::function<bool(uint64_t ordinal, StoredDeadLetter* letter)>& fn,
                          uint64_t* removed) {
  uint64_t dropped = 0, ordinal = 0;
  std::vector<std::string> names;
  VIGIL_RETURN_IF_ERROR(DayFiles(env, dir, &names));
  StoredDeadLetter letter;
  for (const std::string& name : names) {
    const std::string path = JoinPath(dir, name);
    std::string kept;
    bool changed = false;
    bool stopped = false;
    VIGIL_RETURN_IF_ERROR(ForEachLine(env, path, [&](std::string_view line) {
      if (line.empty()) return true;
      if (!ParseDeadLetter(line, &letter)) {
        kept.append(line).push_back('\n');
        return true;
      }
      const std::string reason = letter.reason;
      if (!fn(ordinal++, &letter)) {
        ++dropped;
        changed = true;
      } else if (letter.reason != reason) {
        kept.append(FormatStoredDeadLetter(letter));
        changed = true;
      } else {
        kept.append(line).push_back('\n');
      }
      return true;
    }, &stopped));
    if (!changed) continue;
    if (kept.empty()) {
      VIGIL_RETURN_IF_ERROR(env->RemoveFile(path));
      VIGIL_RETURN_IF_ERROR(env->SyncDir(dir));
    } else {
      VIGIL_RETURN_IF_ERROR(env->WriteFileAtomic(path, kept));  // syncs the directory
    }
  }
  if (removed != nullptr) *removed = dropped;
  return Status::Ok();
}

namespace {

// The line of `path` that ends at `length` (with its '\n'), read back from
// the longest a line can be before it; empty when there is none.
Result<std::string> LineEndingAt(Env* env, const std::string& path, uint64_t length) {
  if (length == 0) return std::string();
  VIGIL_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  // A line holds at most kDeadLetterMaxRaw bytes of raw text, escaped (a
  // control byte takes 6) or in base64, beside short fields.
  const uint64_t window = std::min<uint64_t>(length, 6 * kDeadLetterMaxRaw + 4096);
  std::string tail;
  VIGIL_RETURN_IF_ERROR(file->Read(length - window, window, &tail));
  if (tail.size() != window || tail.back() != '\n') return std::string();
  const size_t prev = tail.find_last_of('\n', tail.size() - 2);
  if (prev == std::string::npos && window < length) return std::string();
  return tail.substr(prev == std::string::npos ? 0 : prev + 1);
}

}  // namespace

Result<std::string> DeadLetterEnd(Env* env, const std::string& dir) {
  std::vector<std::string> names;
  VIGIL_RETURN_IF_ERROR(DayFiles(env, dir, &names));
  if (names.empty()) return FormatMark("", 0, 0);
  const std::string path = JoinPath(dir, names.back());
  VIGIL_ASSIGN_OR_RETURN(uint64_t size, env->FileSize(path));
  VIGIL_ASSIGN_OR_RETURN(std::string last, LineEndingAt(env, path, size));
  return FormatMark(names.back(), size, LineHash(last));
}

Status CutDeadLettersAfter(Env* env, const std::string& dir, std::string_view mark, uint64_t* cut_letters,
                           std::string* note) {
  uint64_t cut = 0;
  note->clear();
  if (cut_letters != nullptr) *cut_letters = 0;
  std::string name;
  uint64_t length = 0, hash = 0;
  if (!ParseMark(mark, &name, &length, &hash)) {
    *note = "the committed dead-letter mark '" + std::string(mark) + "' does not parse; nothing cut";
    return Status::Ok();
  }
  std::vector<std::string> names;
  VIGIL_RETURN_IF_ERROR(DayFiles(env, dir, &names));
  // Lines of `s`, a torn last one (no '\n') included.
  auto count_lines = [](std::string_view s) {
    return static_cast<uint64_t>(std::count(s.begin(), s.end(), '\n')) + (!s.empty() && s.back() != '\n' ? 1 : 0);
  };
  const std::string path = JoinPath(dir, name);
  if (name.empty()) {
    // before every file: each is later
  } else if (env->FileExists(path)) {
    VIGIL_ASSIGN_OR_RETURN(uint64_t size, env->FileSize(path));
    VIGIL_ASSIGN_OR_RETURN(std::string last, LineEndingAt(env, path, std::min(size, length)));
    if (size < length || LineHash(last) != hash) {
      *note = "dead-letter file " + path + " no longer ends its committed letters at byte " + std::to_string(length) +
              "; nothing cut";
      return Status::Ok();
    }
    if (size > length) {
      std::string all;
      VIGIL_RETURN_IF_ERROR(env->ReadFile(path, &all));
      cut += count_lines(std::string_view(all).substr(length));
      all.resize(length);
      VIGIL_RETURN_IF_ERROR(env->WriteFileAtomic(path, all));  // syncs the directory
    }
  } else if (length > 0) {
    *note = "dead-letter file " + path + " of the committed mark is gone; nothing cut";
    return Status::Ok();
  }
  bool removed = false;
  for (const std::string& later : names) {
    if (later <= name) continue;
    std::string all;
    VIGIL_RETURN_IF_ERROR(env->ReadFile(JoinPath(dir, later), &all));
    cut += count_lines(all);
    VIGIL_RETURN_IF_ERROR(env->RemoveFile(JoinPath(dir, later)));
    removed = true;
  }
  if (removed) VIGIL_RETURN_IF_ERROR(env->SyncDir(dir));
  if (cut_letters != nullptr) *cut_letters = cut;
  return Status::Ok();
}

Result<DeadLetterStats> CountDeadLetters(Env* env, const std::string& dir) {
  DeadLetterStats stats;
  VIGIL_RETURN_IF_ERROR(ListDeadLetters(env, dir, nullptr, &stats));
  return stats;
}

}  // namespace vigil
