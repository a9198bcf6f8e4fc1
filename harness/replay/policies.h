// policies.h: the shipped policies by name, for the host tools (replay, sim, check).
#pragma once

#include <memory>
#include <string>

#include "../../servers/placement/common/policy.h"

namespace replay {

// "fair-share", "round-robin", "pinning" (the tutorial's), or "broken" (the deliberately wrong test
// policy); nullptr for an unknown name. The policy is heap-allocated and
// owned by the holder.
struct PolicyBox {
  virtual ~PolicyBox() = default;
  virtual placement::Policy& get() = 0;
};
std::unique_ptr<PolicyBox> make_policy(const std::string& name);

}  // namespace replay
