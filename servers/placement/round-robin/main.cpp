// main.cpp: the round-robin placement server (boot module placement-round-robin).
#include "../common/server.h"
#include "round_robin.h"

namespace {
placement::RoundRobin g_policy;
}

int main(cap::StartInfo& info) { return placement::run_server(info, g_policy); }
