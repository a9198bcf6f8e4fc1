// wire_codec.h: Cap'n Proto encodings the placement servers speak (events, decisions, snapshots).
//
// Encoded and decoded with the bindings capnpc-capos generates from
// schema/placement.capnp and schema/scheduler.capnp (runtime:
// schema/runtime), so the same code runs in the freestanding server and in
// the host tests (the hand-written one-segment reader/builder it once used
// is gone from the tree). Messages are single-segment, flat, as the
// kernel writes and reads them. Not reentrant: the encoders build in one
// static scratch segment (the server encodes on one thread).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

namespace placement::codec {

// SchedulerControl.nextEvents results -> events (at most max). Returns the
// count, or -1 if the message is malformed.
int decode_events(const void* msg, uint32_t len, Event* out, uint32_t max, uint64_t* dropped);

// SchedulerControl.place params (epoch, decisions) into buf; returns the
// message length (0: does not fit).
uint32_t encode_place(void* buf, size_t cap, uint64_t epoch, const Decision* d, size_t n);

// A PlacementSnapshot as the root of a message (buf 8-byte aligned).
uint32_t encode_snapshot(void* buf, size_t cap, const PolicyState& s, uint64_t epoch);
// Reads a message written by encode_snapshot; false if malformed.
bool decode_snapshot(const void* msg, uint32_t len, PolicyState& s);

// Placement.exportState results (a struct whose pointer 0 is the
// PlacementSnapshot) into buf / from msg: the hot swap over an Endpoint.
uint32_t encode_export_results(void* buf, size_t cap, const PolicyState& s, uint64_t epoch);
bool decode_export_results(const void* msg, uint32_t len, PolicyState& s);

// For tests: one event into a nextEvents-shaped result message.
uint32_t encode_events(void* buf, size_t cap, const Event* e, size_t n, uint64_t dropped);

}  // namespace placement::codec
