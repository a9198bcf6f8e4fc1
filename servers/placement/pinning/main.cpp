// main.cpp: the pinning placement server (boot module placement-pinning).
#include "../common/server.h"
#include "pinning.h"

namespace {
placement::Pinning g_policy;
}

int main(cap::StartInfo& info) { return placement::run_server(info, g_policy); }
