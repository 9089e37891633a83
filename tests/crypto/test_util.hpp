#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "relais/crypto/bytes.hpp"
#include "relais/crypto/encoding.hpp"
#include "relais/crypto/secure_buffer.hpp"
#include "relais/crypto/sodium_init.hpp"

namespace relais::crypto::test {

// gtest_discover_tests runs each test in its own process: initialise libsodium before any test.
inline const bool sodium_ready = sodium_init_once();

/// Hex to bytes; a bad literal in a test is a broken test, hence the exception.
inline bytes hex(std::string_view s) {
  auto b = from_hex(s);
  if (!b) {
    throw std::invalid_argument("bad hex in test: " + std::string(s));
  }
  return *b;
}

inline public_key key32(std::string_view s) {
  const bytes b = hex(s);
  public_key k{};
  if (b.size() != k.size()) {
    throw std::invalid_argument("not 32 bytes: " + std::string(s));
  }
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

inline std::string hex_of(bytes_view b) { return to_hex(b); }

/// Reads protocol/vectors/<name> (RELAIS_VECTORS_DIR is set by CMake).
inline nlohmann::json load_vectors(const std::string& name) {
  std::ifstream in(std::string(RELAIS_VECTORS_DIR) + "/" + name);
  if (!in) {
    throw std::runtime_error("cannot open vector file " + name);
  }
  return nlohmann::json::parse(in);
}

inline bytes bytes_of(std::string_view s) { return bytes(s.begin(), s.end()); }

}  // namespace relais::crypto::test
