// result.h - cap::Result<T>: a value or an ABI Status, the return type of every fallible libcap call.
//
// User space reports errors as the same Status codes the kernel puts in
// completions (capos/abi/status.h), so a failed ring call can be passed up
// unchanged. T must be default-constructible and cheap to copy (handles,
// counts, small structs): libcap never returns owning objects by Result.
#pragma once

#include <stdint.h>

#include "capos/abi/status.h"

namespace cap {

using Status = capos::abi::Status;
using capos::abi::status_name;

template <class T>
class [[nodiscard]] Result {
public:
    Result(const T& v) : value_(v), status_(Status::ok) {}
    // An error Result. Status::ok here is a caller bug; it is turned into
    // Status::internal so that ok() never holds a default-constructed value.
    Result(Status s) : value_(), status_(s == Status::ok ? Status::internal : s) {}

    bool ok() const { return status_ == Status::ok; }
    Status status() const { return status_; }
    // Reading the value of a failed Result is a contract violation: trap
    // rather than hand out a default value that looks valid.
    T& value() {
        if (!ok()) __builtin_trap();
        return value_;
    }
    const T& value() const {
        if (!ok()) __builtin_trap();
        return value_;
    }
    T value_or(T fallback) const { return ok() ? value_ : fallback; }

private:
    T value_;
    Status status_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() : status_(Status::ok) {}
    Result(Status s) : status_(s) {}
    bool ok() const { return status_ == Status::ok; }
    Status status() const { return status_; }

private:
    Status status_;
};

inline Result<void> ok() { return Result<void>(); }

}  // namespace cap

// CAP_TRY(expr): evaluate a cap::Result; on failure return its Status from
// the enclosing function (which returns a cap::Result of any T).
#define CAP_TRY_CAT_(a, b) a##b
#define CAP_TRY_CAT(a, b) CAP_TRY_CAT_(a, b)
#define CAP_TRY_IMPL_(expr, tmp)            \
    ({                                      \
        auto tmp = (expr);                  \
        if (!tmp.ok()) return tmp.status(); \
        tmp;                                \
    })
#define CAP_TRY(expr) CAP_TRY_IMPL_(expr, CAP_TRY_CAT(cap_try_tmp_, __COUNTER__))
