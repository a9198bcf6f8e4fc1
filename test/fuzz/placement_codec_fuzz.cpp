// placement_codec_fuzz.cpp: libFuzzer target for the placement servers' wire codec
// (servers/placement/common/wire_codec.cpp, the servers' own source, built with this file).
//
// Each input is decoded as a nextEvents result, a snapshot or exportState
// results, or encoded as a place call (placement_codec_input.h). Beyond
// the sanitizers, every message the codec accepts must survive a round
// trip through its encoder unchanged, and every place call it encodes must
// read back, field for field, through the generated reader.
#include <stdio.h>
#include <stdlib.h>

#include "placement_codec_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static pcfuzz::Scratch k;
    if (pcfuzz::Finding f = pcfuzz::run(data, size, k)) {
        fprintf(stderr, "placement_codec_fuzz: %s\n", f);
        abort();
    }
    return 0;
}
