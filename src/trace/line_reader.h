// LineReader: reads a file descriptor line by line through one fixed buffer, so a trace of any
// size is read in constant memory (the buffer grows only to hold the longest line, up to a cap).
//
// Lines are returned without their '\n' as string_views into the buffer, valid until the next
// call. A line longer than the cap is returned cut at the cap with truncated() set, and the rest
// of it is skipped. Not thread-safe; does not own the descriptor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lockhound::trace {

class LineReader {
 public:
  static constexpr size_t kDefaultBuffer = 1 << 20;
  static constexpr size_t kMaxLine = 16 << 20;

  explicit LineReader(int fd, size_t buffer_size = kDefaultBuffer, size_t max_line = kMaxLine);

  // The next line; false at end of input or on a read error (see error()).
  bool next(std::string_view& line);
  bool truncated() const { return truncated_; }   // the last line returned was cut
  uint64_t bytes_consumed() const { return consumed_; }
  const std::string& error() const { return error_; }

 private:
  bool fill();
  int fd_;
  size_t max_line_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false, truncated_ = false, skipping_ = false;
  uint64_t consumed_ = 0;
  std::string error_;
};

}  // namespace lockhound::trace
