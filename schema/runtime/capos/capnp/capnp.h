// capOS freestanding Cap'n Proto runtime: everything generated headers need.
#pragma once

#include "capos/capnp/builder.h"
#include "capos/capnp/error.h"
#include "capos/capnp/layout.h"
#include "capos/capnp/message.h"
#include "capos/capnp/rpc.h"
#include "capos/capnp/typed.h"
