// guest_echo_client.cpp - helper for utest-endpoint: calls the "server" capability with a MemoryObject attached.
#include "guest.h"
#include "lib/capnp_wire.h"
#include "libcap/calls.h"
#include "libcap/print.h"
#include "libcap/runtime.h"

namespace wire = kern::wire;

int main(cap::StartInfo& info) {
  const guest::CapHandle server = info.named("server");
  if (server == 0) return 10;
  uint32_t cross = 0;
  for (uint64_t i = 0; i < 40; ++i) {
    auto mo = cap::process_allocate(cap::this_ring(), info.process(), 4096 * (1 + i % 3));
    if (!mo.ok()) return 11;
    alignas(8) uint8_t p[32];
    const uint32_t n = guest::words_msg(p, sizeof p, &i, 1);
    alignas(8) uint8_t res[128];
    guest::CapHandle caps[1] = {mo.value()};
    // Moved: the handle in our table goes stale.
    guest::Raw r = guest::raw_call(server, 0x1234567890abcdefull, 3, p, n, res, sizeof res, caps, 1, 1,
                                   capos::abi::kSqeFlagMoveCaps);
    if (r.cqe.status != 0) return 12;
    wire::Reader rd;
    if (!rd.init(res, r.cqe.result_len).ok()) return 13;
    if (wire::Reader::u64(rd.root(), 0) != i * 2 + 4096 * (1 + i % 3)) return 14;
    if (wire::Reader::u64(rd.root(), 1) != guest::cpu_now()) ++cross;
    if (r.cqe.caps_out_count != 1) return 15;
    guest::Raw sz = guest::raw_call(caps[0], guest::kMemoryObject, 0);
    if (sz.cqe.status != 0 || sz.cqe.value != 8192) return 16;
    // The moved handle is stale now.
    guest::Raw st = guest::raw_call(mo.value(), guest::kMemoryObject, 0);
    if (st.cqe.status != static_cast<int32_t>(capos::abi::Status::stale_slot)) return 17;
  }
  cap::print("[echo-client] 40 calls ok, %u answered from another CPU\n", cross);
  return 0;
}
