// relais_crypto_transcript: `generate PATH` writes the C++ golden transcript;
// `check PATH` replays a transcript (C++ or TypeScript) and exits non-zero on the first mismatch.
#include <fstream>
#include <iostream>
#include <string>

#include "relais/crypto/sodium_init.hpp"
#include "transcript.hpp"

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "generate" && std::string(argv[1]) != "check")) {
    std::cerr << "usage: relais_crypto_transcript generate|check PATH\n";
    return 2;
  }
  if (!relais::crypto::sodium_init_once()) return 1;
  const std::string path = argv[2];
  if (std::string(argv[1]) == "generate") {
    std::ofstream out(path);
    out << relais::crypto::test::generate_transcript(20240604).dump(1) << '\n';
    return out ? 0 : 1;
  }
  std::ifstream in(path);
  if (!in) {
    std::cerr << "cannot open " << path << '\n';
    return 1;
  }
  const auto mismatch = relais::crypto::test::verify_transcript(nlohmann::json::parse(in));
  if (mismatch) {
    std::cerr << path << ": " << *mismatch << '\n';
    return 1;
  }
  std::cout << path << ": all events match\n";
  return 0;
}
