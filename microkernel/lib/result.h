// result.h - kernel error codes and Result<T>, the value-or-error return type.
//
// Errors are values: every fallible kernel function returns Result<T> and the
// caller must look at it ([[nodiscard]]). TRY(expr) propagates an error in one
// token. The kernel's Error is translated to the user ABI status in exactly
// one place (the ring boundary), not here.
#pragma once

#include <stddef.h>
#include <stdint.h>

// Placement new. Hosted builds get it from <new>; the kernel is built with
// -nostdinc++, so no C++ library header exists and we declare it ourselves.
// Anything else in the kernel that needs placement new must include this
// header (or define CAPOS_HAVE_PLACEMENT_NEW after providing its own).
#if __has_include(<new>)
#include <new>
#elif !defined(CAPOS_HAVE_PLACEMENT_NEW)
#define CAPOS_HAVE_PLACEMENT_NEW 1
[[nodiscard]] inline void* operator new(size_t, void* where) noexcept { return where; }
[[nodiscard]] inline void* operator new[](size_t, void* where) noexcept { return where; }
inline void operator delete(void*, void*) noexcept {}
inline void operator delete[](void*, void*) noexcept {}
#endif

namespace kern {

enum class Error : uint16_t {
    none = 0,          // not an error; never stored in a failed Result
    invalid_argument,  // caller passed a value outside the contract
    out_of_memory,     // no frame / heap block / table slot left
    malformed,         // input structure violates its format (lengths, tags)
    out_of_range,      // index or address outside the managed range
    not_found,         // lookup found nothing
    exists,            // object already present
    busy,              // resource in use; retry later
    misaligned,        // address or size not aligned as required
    truncated,         // input ends before a structure it announces
    bad_checksum,      // checksum over a firmware table does not match
    double_free,       // freeing something that is already free
    not_owned,         // freeing something this allocator never handed out
    unsupported,       // valid input the kernel does not implement
    overflow,          // arithmetic on input sizes would wrap
    capacity,          // fixed-size table full
    invalid_slot,      // capability handle names no capability
    stale_slot,        // capability handle's generation is out of date (dropped/revoked)
    no_rights,         // capability lacks a required right
    quota,             // a per-process quota (slots, frames, threads, calls) is exhausted
    bad_ring,          // shared ring indices are inconsistent (hostile or buggy user)
    bad_pointer,       // a user pointer is unmapped, not user-accessible, non-canonical or wraps
};

// Stable lower-case name of an error, for console messages. Never null.
inline const char* error_name(Error e) {
    switch (e) {
        case Error::none:
            return "none";
        case Error::invalid_argument:
            return "invalid_argument";
        case Error::out_of_memory:
            return "out_of_memory";
        case Error::malformed:
            return "malformed";
        case Error::out_of_range:
            return "out_of_range";
        case Error::not_found:
            return "not_found";
        case Error::exists:
            return "exists";
        case Error::busy:
            return "busy";
        case Error::misaligned:
            return "misaligned";
        case Error::truncated:
            return "truncated";
        case Error::bad_checksum:
            return "bad_checksum";
        case Error::double_free:
            return "double_free";
        case Error::not_owned:
            return "not_owned";
        case Error::unsupported:
            return "unsupported";
        case Error::overflow:
            return "overflow";
        case Error::capacity:
            return "capacity";
        case Error::invalid_slot:
            return "invalid_slot";
        case Error::stale_slot:
            return "stale_slot";
        case Error::no_rights:
            return "no_rights";
        case Error::quota:
            return "quota";
        case Error::bad_ring:
            return "bad_ring";
        case Error::bad_pointer:
            return "bad_pointer";
    }
    return "unknown_error";
}

// Holds either a T or an Error. Constructed implicitly from either, so a
// function returning Result<T> can `return value;` or `return Error::x;`.
// Reading value() of a failed Result is a contract violation (checked with
// __builtin_trap so it stops instead of returning garbage).
template <class T>
class [[nodiscard]] Result {
public:
    Result(const T& v) : ok_(true) { new (&storage_.value) T(v); }
    Result(T&& v) : ok_(true) { new (&storage_.value) T(static_cast<T&&>(v)); }
    Result(Error e) : ok_(false) { storage_.error = e; }

    Result(const Result& o) : ok_(o.ok_) {
        if (ok_) new (&storage_.value) T(o.storage_.value);
        else storage_.error = o.storage_.error;
    }
    Result(Result&& o) : ok_(o.ok_) {
        if (ok_) new (&storage_.value) T(static_cast<T&&>(o.storage_.value));
        else storage_.error = o.storage_.error;
    }
    Result& operator=(const Result& o) {
        if (this != &o) {
            destroy();
            ok_ = o.ok_;
            if (ok_) new (&storage_.value) T(o.storage_.value);
            else storage_.error = o.storage_.error;
        }
        return *this;
    }
    Result& operator=(Result&& o) {
        if (this != &o) {
            destroy();
            ok_ = o.ok_;
            if (ok_) new (&storage_.value) T(static_cast<T&&>(o.storage_.value));
            else storage_.error = o.storage_.error;
        }
        return *this;
    }
    ~Result() { destroy(); }

    bool ok() const { return ok_; }
    Error error() const { return ok_ ? Error::none : storage_.error; }

    T& value() & {
        if (!ok_) __builtin_trap();
        return storage_.value;
    }
    const T& value() const& {
        if (!ok_) __builtin_trap();
        return storage_.value;
    }
    T value() && { return release_value(); }
    // Moves the value out; used by TRY.
    T release_value() {
        if (!ok_) __builtin_trap();
        return static_cast<T&&>(storage_.value);
    }
    T value_or(T fallback) const { return ok_ ? storage_.value : fallback; }

private:
    void destroy() {
        if (ok_) storage_.value.~T();
    }

    union Storage {
        Storage() {}
        ~Storage() {}
        T value;
        Error error;
    } storage_;
    bool ok_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() : error_(Error::none) {}
    Result(Error e) : error_(e) {}

    bool ok() const { return error_ == Error::none; }
    Error error() const { return error_; }
    void release_value() const {}

private:
    Error error_;
};

// Result<void> success value: `return kern::ok();`.
inline Result<void> ok() { return Result<void>(); }

}  // namespace kern

// TRY(expr): evaluate a Result; on error return the error from the enclosing
// function (whose return type must be a Result), otherwise the expression's
// value is the moved-out T (void for Result<void>). GNU statement expression.
#define CAPOS_TRY_CONCAT_(a, b) a##b
#define CAPOS_TRY_CONCAT(a, b) CAPOS_TRY_CONCAT_(a, b)
#define CAPOS_TRY_IMPL_(expr, tmp)         \
    ({                                     \
        auto tmp = (expr);                 \
        if (!tmp.ok()) return tmp.error(); \
        tmp.release_value();               \
    })
#define TRY(expr) CAPOS_TRY_IMPL_(expr, CAPOS_TRY_CONCAT(capos_try_result_, __COUNTER__))
