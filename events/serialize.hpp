// cereal plumbing shared by the stored encodings (events, projections): field lists of the
// nested domain structs and zero-copy archive helpers. Include only from .cpp files: cereal is a
// heavy header.
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <istream>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>

#include "events/event.hpp"
#include "events/result.hpp"

namespace filingd {

// ---- field lists -------------------------------------------------------------------------
// Nested structs take the version of the payload that contains them, so one version number
// governs a whole payload.

template <class A>
void serialize(A& ar, Timestamp& t) {
  ar(t.micros);
}

template <class A>
void fields(A& ar, Person& p, std::uint32_t) {
  ar(p.name, p.id_type, p.id_number, p.mobile, p.email);
}

template <class A>
void fields(A& ar, Subject& s, std::uint32_t) {
  ar(s.kind, s.name, s.id_type, s.id_number, s.address);
}

template <class A>
void fields(A& ar, std::vector<Website>& websites, std::uint32_t v) {
  cereal::size_type n = websites.size();
  ar(cereal::make_size_tag(n));
  websites.resize(static_cast<std::size_t>(n));
  for (auto& w : websites) {
    ar(w.name, w.domains);
    fields(ar, w.responsible, v);
    ar(w.record_number);
  }
}

namespace detail {

// Stream buffers over our own memory, so encoding and decoding do not copy through
// std::stringstream (this is on the append and rebuild hot paths).
class StringSink : public std::streambuf {
 public:
  explicit StringSink(std::string& out) : out_(out) {}

 protected:
  int_type overflow(int_type ch) override {
    if (ch != traits_type::eof()) out_.push_back(static_cast<char>(ch));
    return ch;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  std::string& out_;
};

class ViewSource : public std::streambuf {
 public:
  explicit ViewSource(std::string_view in) {
    char* p = const_cast<char*>(in.data());  // read-only use: get area only
    setg(p, p, p + in.size());
  }
  bool exhausted() const { return gptr() == egptr(); }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

// A stream over `buf` for the life of this object: the thread's own, unless a caller up the
// stack holds it (a decode inside a decode). Constructing a std::istream or std::ostream (the
// stream's locale, its ios_base) cost as much as decoding a small record.
template <class Stream>
class LentStream {
 public:
  explicit LentStream(std::streambuf* buf) {
    thread_local Stream shared(nullptr);
    thread_local bool lent = false;
    if (lent) {
      own_.emplace(buf);
      stream_ = &*own_;
      return;
    }
    lent = true;
    lent_ = &lent;
    shared.rdbuf(buf);  // also clears the state a previous use left
    stream_ = &shared;
  }
  ~LentStream() {
    if (lent_ == nullptr) return;
    stream_->rdbuf(nullptr);
    *lent_ = false;
  }
  LentStream(const LentStream&) = delete;
  LentStream& operator=(const LentStream&) = delete;
  Stream& get() { return *stream_; }

 private:
  Stream* stream_ = nullptr;
  std::optional<Stream> own_;
  bool* lent_ = nullptr;
};

// The input cereal_decode is reading on this thread, if any.
inline thread_local const ViewSource* t_decoding = nullptr;

}  // namespace detail

// Encodes with a portable binary archive; `write(archive)` does the fields.
template <class F>
std::string cereal_encode(F&& write) {
  std::string out;
  out.reserve(256);
  detail::StringSink sink(out);
  detail::LentStream<std::ostream> os(&sink);
  {
    cereal::PortableBinaryOutputArchive ar(os.get());
    write(ar);
  }
  return out;
}

// Decodes with `read(archive)`; false if cereal throws or bytes are left over.
template <class F>
bool cereal_decode(std::string_view bytes, F&& read, std::string* error) {
  detail::ViewSource src(bytes);
  detail::LentStream<std::istream> is(&src);
  struct Restore {
    const detail::ViewSource* outer;
    ~Restore() { detail::t_decoding = outer; }
  } restore{std::exchange(detail::t_decoding, &src)};
  try {
    cereal::PortableBinaryInputArchive ar(is.get());
    read(ar);
  } catch (const std::exception& ex) {
    if (error) *error = ex.what();
    return false;
  }
  if (!src.exhausted()) {
    if (error) *error = "trailing bytes";
    return false;
  }
  return true;
}

// A projection record: its layout version, then fields(archive, value). Projections are derived
// data, so a layout change is handled by rebuilding them: a layout other than `layout` is
// refused as corrupt, not upcast. `what` names the record in errors.
template <class T, class Fields>
std::string encode_layout(const T& value, std::uint32_t layout, Fields&& fields) {
  return cereal_encode([&](auto& ar) {
    ar(layout);
    fields(ar, const_cast<T&>(value));
  });
}

template <class T, class Fields>
Result<T> decode_layout(std::string_view bytes, std::uint32_t layout, Fields&& fields,
                        std::string_view what) {
  T value;
  std::string error;
  const bool ok = cereal_decode(
      bytes,
      [&](auto& ar) {
        std::uint32_t stored = 0;
        ar(stored);
        if (stored != layout) throw std::runtime_error("unknown layout " + std::to_string(stored));
        fields(ar, value);
      },
      &error);
  if (!ok) return make_error(ErrorCode::internal, "corrupt " + std::string(what) + ": " + error);
  return value;
}

}  // namespace filingd

namespace cereal {

// Every string length and element count cereal reads goes through here (a non-template, so it
// wins over cereal's generic SizeTag serialize). Each byte or element takes at least one byte of
// input, so a count larger than what is left is corrupt: refuse it before resize() allocates it.
inline void serialize(PortableBinaryInputArchive& ar, SizeTag<size_type&>& t) {
  ar(t.size);
  const filingd::detail::ViewSource* src = filingd::detail::t_decoding;
  if (src != nullptr && t.size > src->remaining()) {
    throw Exception("a length of " + std::to_string(t.size) + " exceeds the " +
                    std::to_string(src->remaining()) + " bytes left");
  }
}

// A bool (std::optional's "engaged" flag) is one byte on disk; any value but 0 or 1 is corrupt,
// and loading it straight into a bool would be undefined behaviour.
inline void load(PortableBinaryInputArchive& ar, bool& b) {
  std::uint8_t byte = 0;
  ar(byte);
  if (byte > 1) throw Exception("a bool byte of " + std::to_string(byte));
  b = byte != 0;
}

}  // namespace cereal
