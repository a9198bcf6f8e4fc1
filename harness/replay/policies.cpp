// policies.cpp: policy factory for the host tools.
#include "policies.h"

#include "../../servers/placement/fair-share/fair_share.h"
#include "../../servers/placement/pack/pack.h"
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

std::unique_ptr<PolicyBox> make_policy(const std::string& spec, std::string* error) {
    const placement::SpecParts parts = placement::split_spec(spec.c_str());
    const std::string name(parts.name, parts.name_len);
    std::unique_ptr<PolicyBox> box;
    if (name == "fair-share") box = std::make_unique<Box<placement::FairShare>>();
    else if (name == "round-robin") box = std::make_unique<Box<placement::RoundRobin>>();
    else if (name == "pinning") box = std::make_unique<Box<placement::Pinning>>();
    else if (name == "pack") box = std::make_unique<Box<placement::Pack>>();
    else if (name == "broken") box = std::make_unique<Box<BrokenPolicy>>();
    if (!box) {
        if (error) *error = "unknown policy '" + name + "' (known: fair-share, round-robin, pinning, pack, broken)";
        return nullptr;
    }
    placement::KeyValues kv;
    placement::ArgError err;
    if (!placement::parse_key_values(parts.args != nullptr ? parts.args : "", parts.args_len, ',', kv, err) ||
        !box->get().configure(kv, err)) {
        if (error) *error = name + ": arguments refused: " + err.text;
        return nullptr;
    }
    return box;
}

}  // namespace replay
