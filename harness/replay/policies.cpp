// policies.cpp: policy factory for the host tools.
#include "policies.h"

#include "../../servers/placement/fair-share/fair_share.h"
#include "../../servers/placement/pinning/pinning.h"
#include "../../servers/placement/round-robin/round_robin.h"
#include "broken_policy.h"

namespace replay {
namespace {
template <class P>
struct Box final : PolicyBox {
  P p;
  placement::Policy& get() override { return p; }
};
}  // namespace

std::unique_ptr<PolicyBox> make_policy(const std::string& name) {
  if (name == "fair-share") return std::make_unique<Box<placement::FairShare>>();
  if (name == "round-robin") return std::make_unique<Box<placement::RoundRobin>>();
  if (name == "pinning") return std::make_unique<Box<placement::Pinning>>();
  if (name == "broken") return std::make_unique<Box<BrokenPolicy>>();
  return nullptr;
}

}  // namespace replay
