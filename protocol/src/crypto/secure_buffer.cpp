#include "relais/crypto/secure_buffer.hpp"

#include <sodium.h>

#include <algorithm>
#include <new>
#include <utility>

namespace relais::crypto {

secure_buffer::secure_buffer(std::size_t size) : size_(size) {
  if (size_ == 0) {
    return;
  }
  data_ = static_cast<std::uint8_t*>(sodium_malloc(size_));
  if (data_ == nullptr) {
    throw std::bad_alloc();
  }
  sodium_memzero(data_, size_);
}

secure_buffer::secure_buffer(bytes_view data) : secure_buffer(data.size()) {
  std::copy(data.begin(), data.end(), data_);
}

secure_buffer::~secure_buffer() {
  // sodium_free zeroes the region before unmapping it.
  sodium_free(data_);
}

secure_buffer::secure_buffer(secure_buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

secure_buffer& secure_buffer::operator=(secure_buffer&& other) noexcept {
  if (this != &other) {
    sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

secret32::secret32(bytes_view in) noexcept {
  std::copy_n(in.begin(), std::min<std::size_t>(in.size(), bytes_.size()), bytes_.begin());
}

secret32::~secret32() { sodium_memzero(bytes_.data(), bytes_.size()); }

bool secret32::equals(const secret32& other) const noexcept {
  return sodium_memcmp(bytes_.data(), other.bytes_.data(), bytes_.size()) == 0;
}

void wipe(bytes& b) noexcept { sodium_memzero(b.data(), b.size()); }

}  // namespace relais::crypto
