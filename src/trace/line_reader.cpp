#include "trace/line_reader.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace lockhound::trace {

LineReader::LineReader(int fd, size_t buffer_size, size_t max_line)
    : fd_(fd), max_line_(max_line < 16 ? 16 : max_line), buf_(buffer_size < 64 ? 64 : buffer_size) {}

// Moves the unread tail to the front and reads more. False when nothing more can come.
bool LineReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  for (;;) {
    ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += size_t(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    error_ = std::strerror(errno);
    eof_ = true;
    return false;
  }
}

bool LineReader::next(std::string_view& line) {
  truncated_ = false;
  size_t scan_from = begin_;
  for (;;) {
    const char* start = buf_.data() + begin_;
    const char* nl = static_cast<const char*>(
        std::memchr(buf_.data() + scan_from, '\n', end_ - scan_from));
    if (nl) {
      size_t len = size_t(nl - start);
      begin_ += len + 1;
      consumed_ += len + 1;
      if (skipping_) {  // the tail of an over-long line: drop it
        skipping_ = false;
        scan_from = begin_;
        continue;
      }
      line = std::string_view(start, len);
      return true;
    }
    size_t pending = end_ - begin_;
    if (pending >= max_line_ && !skipping_) {
      // Return the first max_line_ bytes and skip the rest of this line.
      line = std::string_view(start, max_line_);
      begin_ += max_line_;
      consumed_ += max_line_;
      skipping_ = true;
      truncated_ = true;
      return true;
    }
    if (skipping_ && pending > 0) {  // keep dropping until the newline shows up
      consumed_ += pending;
      begin_ = end_;
    }
    size_t seen = end_ - begin_;
    if (!fill()) {
      if (end_ > begin_ && !skipping_) {
        line = std::string_view(buf_.data() + begin_, end_ - begin_);
        consumed_ += end_ - begin_;
        begin_ = end_;
        return true;
      }
      return false;
    }
    scan_from = begin_ + seen;
  }
}

}  // namespace lockhound::trace
