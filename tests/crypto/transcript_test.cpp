#include "transcript.hpp"

#include <gtest/gtest.h>

#include <set>

#include "relais/crypto/sodium_init.hpp"
#include "test_util.hpp"

namespace relais::crypto {
namespace {

TEST(Transcript, ReplaysCommittedCppTranscript) {
  ASSERT_TRUE(sodium_init_once());
  const auto t = test::load_vectors("ratchet_transcript_cpp.json");
  EXPECT_EQ(test::verify_transcript(t), std::nullopt);
}

TEST(Transcript, GeneratorReproducesCommittedFile) {
  ASSERT_TRUE(sodium_init_once());
  EXPECT_EQ(test::generate_transcript(20240604), test::load_vectors("ratchet_transcript_cpp.json"));
}

TEST(Transcript, DetectsAlteredWire) {
  ASSERT_TRUE(sodium_init_once());
  auto t = test::load_vectors("ratchet_transcript_cpp.json");
  for (auto& e : t["events"]) {
    if (e["op"] == "send" && e["index"] == 500) {
      std::string w = e["wire"].get<std::string>();
      w[10] = w[10] == 'A' ? 'B' : 'A';
      e["wire"] = w;
    }
  }
  const auto mismatch = test::verify_transcript(t);
  ASSERT_TRUE(mismatch.has_value());
  EXPECT_NE(mismatch->find("index 500"), std::string::npos) << *mismatch;
}

TEST(Transcript, CoversTheRequiredCases) {
  const auto t = test::load_vectors("ratchet_transcript_cpp.json");
  int sends = 0;
  int duplicates = 0;
  int reordered = 0;
  int from_bob = 0;
  int switches = 0;
  std::string last_from;
  int max_delivered = -1;
  std::set<int> delivered;
  for (const auto& e : t["events"]) {
    if (e["op"] == "send") {
      ++sends;
      if (e["from"] == "bob") ++from_bob;
      if (!last_from.empty() && e["from"] != last_from) ++switches;
      last_from = e["from"].get<std::string>();
    } else {
      const int i = e["index"].get<int>();
      if (e["expect"] == "duplicate") ++duplicates;
      if (i < max_delivered) ++reordered;
      max_delivered = std::max(max_delivered, i);
      delivered.insert(i);
    }
  }
  EXPECT_EQ(sends, 1000);
  EXPECT_GT(from_bob, 300);
  EXPECT_GT(switches, 50);  // each switch of sender is a DH ratchet step
  EXPECT_GT(duplicates, 20);
  EXPECT_GT(reordered, 100);
  EXPECT_LT(delivered.size(), 1000U);  // some were lost
}

}  // namespace
}  // namespace relais::crypto
