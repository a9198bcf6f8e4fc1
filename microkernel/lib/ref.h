// ref.h - intrusive atomic reference counting (RefCounted base + Ref<T> pointer).
//
// Kernel objects are shared by every capability slot that names them and by
// in-flight operations; the last reference to go calls the object's
// on_last_ref(), which returns the memory to wherever the object came from
// (a slab, a static pool, a test's counter). Counting is atomic because slots
// in different processes' tables, on different CPUs, drop independently.
//
// Ordering: increments are relaxed (a new reference is always made from an
// existing one, which keeps the object alive); the decrement is acq_rel so
// every write through any reference happens before on_last_ref() runs.
#pragma once

#include <stdint.h>

namespace kern {

class RefCounted {
public:
    RefCounted(const RefCounted&) = delete;
    RefCounted& operator=(const RefCounted&) = delete;

    void add_ref() {
        const uint32_t old = __atomic_fetch_add(&refs_, 1, __ATOMIC_RELAXED);
        if (old == 0 || old == UINT32_MAX) __builtin_trap();  // resurrection or overflow
    }
    // Drops one reference; calls on_last_ref() when it was the last.
    void release() {
        const uint32_t old = __atomic_fetch_sub(&refs_, 1, __ATOMIC_ACQ_REL);
        if (old == 0) __builtin_trap();  // over-release
        if (old == 1) on_last_ref();
    }
    uint32_t ref_count() const { return __atomic_load_n(&refs_, __ATOMIC_RELAXED); }

protected:
    // Starts with one reference, owned by whoever created the object (adopt it
    // with Ref<T>::adopt).
    RefCounted() = default;
    ~RefCounted() = default;
    // Called once, when the count reaches zero. The object must not be touched
    // by the caller afterwards.
    virtual void on_last_ref() = 0;

private:
    uint32_t refs_ = 1;
};

// Owning pointer to a RefCounted T. Null is allowed.
template <class T>
class Ref {
public:
    Ref() = default;
    // Takes an existing reference without adding one (e.g. a fresh object's initial one).
    static Ref adopt(T* p) {
        Ref r;
        r.p_ = p;
        return r;
    }
    // Adds a reference to p.
    static Ref share(T* p) {
        if (p != nullptr) p->add_ref();
        return adopt(p);
    }
    Ref(const Ref& o) : p_(o.p_) {
        if (p_ != nullptr) p_->add_ref();
    }
    Ref(Ref&& o) : p_(o.p_) { o.p_ = nullptr; }
    Ref& operator=(const Ref& o) {
        if (this != &o) {
            if (o.p_ != nullptr) o.p_->add_ref();
            reset();
            p_ = o.p_;
        }
        return *this;
    }
    Ref& operator=(Ref&& o) {
        if (this != &o) {
            reset();
            p_ = o.p_;
            o.p_ = nullptr;
        }
        return *this;
    }
    ~Ref() { reset(); }

    void reset() {
        T* p = p_;
        p_ = nullptr;
        if (p != nullptr) p->release();
    }
    // Gives up ownership without releasing.
    T* leak() {
        T* p = p_;
        p_ = nullptr;
        return p;
    }
    T* get() const { return p_; }
    T* operator->() const { return p_; }
    T& operator*() const { return *p_; }
    explicit operator bool() const { return p_ != nullptr; }

private:
    T* p_ = nullptr;
};

}  // namespace kern
