// policies.h: the shipped policies by spec, for the host tools (replay, sim, check) and the tests.
#pragma once

#include <memory>
#include <string>

#include "../../servers/placement/common/policy.h"

namespace replay {

// The policy is heap-allocated and owned by the holder.
struct PolicyBox {
    virtual ~PolicyBox() = default;
    virtual placement::Policy& get() = 0;
};

// A spec is `name[:key=value[,key=value...]]` (policy_args.h): the name is
// "fair-share", "round-robin", "pinning" (the tutorial's) or "broken" (the
// deliberately wrong test policy); the arguments go to Policy::configure.
// nullptr for an unknown name or refused arguments, with the reason in
// *error when given.
std::unique_ptr<PolicyBox> make_policy(const std::string& spec, std::string* error = nullptr);

}  // namespace replay
