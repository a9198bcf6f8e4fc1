// main.cpp: the fair-share placement server (boot module placement-fair-share).
#include "../common/server.h"
#include "fair_share.h"

namespace {
placement::FairShare g_policy;
}

int main(cap::StartInfo& info) { return placement::run_server(info, g_policy); }
