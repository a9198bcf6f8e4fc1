// main.cpp: the pack placement server (boot module placement-pack).
#include "../common/server.h"
#include "pack.h"

namespace {
placement::Pack g_policy;
}

int main(cap::StartInfo& info) { return placement::run_server(info, g_policy); }
