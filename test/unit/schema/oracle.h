// Schema binding tests: path-keyed value oracle, fillers for both libraries and a cross-library comparing visitor.
//
// Every value a test message holds is a function of its path ("root.modules[1].name"),
// so the generated builders (via the generated fill()) and the official
// library (via DynamicStruct) produce the same message independently, and a
// reader can be checked both against the other library and against the
// oracle. Whether a pointer field is set, list sizes and union choices are
// path-keyed too; recursion stops at kMaxDepth.
#pragma once

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema-parser.h>
#include <capnp/serialize.h>
#include <kj/filesystem.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "capos/capnp/capnp.h"

namespace oracle {

inline constexpr size_t kMaxDepth = 6;

inline uint64_t hash(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h ^= h >> 31;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

template <typename T>
T value_at(const std::string& path) {
    uint64_t h = hash(path);
    if constexpr (std::is_same_v<T, bool>) {
        return (h & 1) != 0;
    } else if constexpr (std::is_same_v<T, float>) {
        return static_cast<float>(h % 100000) / 8.0f;
    } else if constexpr (std::is_same_v<T, double>) {
        return static_cast<double>(h % 100000000) / 16.0;
    } else {
        return static_cast<T>(h);
    }
}

inline std::string text_at(const std::string& path) {
    uint64_t h = hash(path + "$");
    std::string s;
    for (uint64_t i = 0; i < h % 13; ++i) s += static_cast<char>('a' + (h >> (i * 4)) % 26);
    return s;
}

inline std::string data_at(const std::string& path) {
    uint64_t h = hash(path + "%");
    std::string s;
    for (uint64_t i = 0; i < h % 11; ++i) s += static_cast<char>((h >> (i * 5)) & 0xff);
    return s;
}

// Path with the depth count shared by fillers and the comparing visitor.
class Path {
public:
    explicit Path(std::string root = "root") : path_(std::move(root)) {}
    void push(const std::string& part) {
        marks_.push_back(path_.size());
        path_ += part;
    }
    void pop() {
        path_.resize(marks_.back());
        marks_.pop_back();
    }
    [[nodiscard]] const std::string& str() const { return path_; }
    [[nodiscard]] size_t depth() const { return marks_.size(); }
    [[nodiscard]] std::string field(const char* name) const { return path_ + "." + name; }

    // Whether pointer field `name` is set at this point.
    [[nodiscard]] bool present(const char* name) const {
        return depth() < kMaxDepth && hash(field(name) + "?") % 5 != 0;
    }
    [[nodiscard]] uint32_t list_size() const { return static_cast<uint32_t>(hash(path_ + "#n") % 4); }
    [[nodiscard]] uint16_t which(uint16_t count) const { return static_cast<uint16_t>(hash(path_ + "#which") % count); }

private:
    std::string path_;
    std::vector<size_t> marks_;
};

// Fills a message through the generated fill() functions.
class GenFiller {
public:
    template <typename T>
    T value(const char* name) {
        return value_at<T>(path_.field(name));
    }
    template <typename E>
    E enumerant(const char* name, uint16_t count) {
        return static_cast<E>(hash(path_.field(name)) % count);
    }
    uint16_t which(uint16_t count) { return path_.which(count); }
    bool descend(const char* name) {
        if (!path_.present(name)) return false;
        path_.push(std::string(".") + name);
        return true;
    }
    void group(const char* name) { path_.push(std::string(".") + name); }
    void ascend() { path_.pop(); }
    uint32_t size() { return path_.list_size(); }

    struct Bytes {
        const char* data;
        uint32_t size;
    };
    Bytes text() {
        scratch_ = text_at(path_.str());
        return {scratch_.data(), static_cast<uint32_t>(scratch_.size())};
    }
    struct Raw {
        const uint8_t* data;
        uint32_t size;
    };
    Raw data() {
        scratch_ = data_at(path_.str());
        return {reinterpret_cast<const uint8_t*>(scratch_.data()), static_cast<uint32_t>(scratch_.size())};
    }

    template <typename L>
    void fill_list(L l) {
        using T = typename L::Element;
        constexpr auto k = cap::capnp::kind_of<T>();
        for (uint32_t i = 0; i < l.size(); ++i) {
            path_.push("[" + std::to_string(i) + "]");
            const std::string& p = path_.str();
            if constexpr (k == cap::capnp::Kind::Bool || k == cap::capnp::Kind::Primitive) {
                l.set(i, value_at<T>(p));
            } else if constexpr (k == cap::capnp::Kind::Enum) {
                l.set(i, static_cast<T>(hash(p) % cap::capnp::EnumInfo<T>::kCount));
            } else if constexpr (k == cap::capnp::Kind::Struct) {
                fill(l[i], *this);
            } else if constexpr (k == cap::capnp::Kind::Text) {
                std::string t = text_at(p);
                l.set(i, t.data(), static_cast<uint32_t>(t.size()));
            } else if constexpr (k == cap::capnp::Kind::Data) {
                std::string d = data_at(p);
                l.set(i, reinterpret_cast<const uint8_t*>(d.data()), static_cast<uint32_t>(d.size()));
            } else if constexpr (k == cap::capnp::Kind::List) {
                if (path_.depth() < kMaxDepth) fill_list(l.init(i, path_.list_size()));
            }
            path_.pop();
        }
    }

private:
    Path path_;
    std::string scratch_;
};

// Fills a message through the official library's dynamic API, by the same rules.
class DynFiller {
public:
    void fill(capnp::DynamicStruct::Builder b, capnp::StructSchema s) {
        auto uf = s.getUnionFields();
        if (uf.size() != 0) {
            uint16_t d = path_.which(static_cast<uint16_t>(uf.size()));
            for (auto f : uf)
                if (f.getProto().getDiscriminantValue() == d) fill_field(b, f);
        }
        for (auto f : s.getNonUnionFields()) fill_field(b, f);
    }

private:
    void fill_field(capnp::DynamicStruct::Builder b, capnp::StructSchema::Field f) {
        std::string name = f.getProto().getName();
        if (f.getProto().isGroup()) {
            path_.push("." + name);
            fill(b.init(f).as<capnp::DynamicStruct>(), f.getType().asStruct());
            path_.pop();
            return;
        }
        // A field declared with a type parameter (Box(T).value) is AnyPointer
        // in the generated code (generics by erasure), which fills nothing
        // there; leave it unset here too (the parameter's value is tested
        // on its own, "generic fields ...").
        if (f.getProto().getSlot().getType().isAnyPointer()) return;
        auto t = f.getType();
        std::string p = path_.field(name.c_str());
        using W = capnp::schema::Type;
        switch (t.which()) {
            case W::VOID:
                if (f.getProto().getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT) b.set(f, capnp::VOID);
                return;
            case W::BOOL:
                b.set(f, value_at<bool>(p));
                return;
            case W::INT8:
                b.set(f, value_at<int8_t>(p));
                return;
            case W::INT16:
                b.set(f, value_at<int16_t>(p));
                return;
            case W::INT32:
                b.set(f, value_at<int32_t>(p));
                return;
            case W::INT64:
                b.set(f, value_at<int64_t>(p));
                return;
            case W::UINT8:
                b.set(f, value_at<uint8_t>(p));
                return;
            case W::UINT16:
                b.set(f, value_at<uint16_t>(p));
                return;
            case W::UINT32:
                b.set(f, value_at<uint32_t>(p));
                return;
            case W::UINT64:
                b.set(f, value_at<uint64_t>(p));
                return;
            case W::FLOAT32:
                b.set(f, value_at<float>(p));
                return;
            case W::FLOAT64:
                b.set(f, value_at<double>(p));
                return;
            case W::ENUM: {
                auto es = t.asEnum();
                b.set(f, capnp::DynamicEnum(es, static_cast<uint16_t>(hash(p) % es.getEnumerants().size())));
                return;
            }
            default:
                break;
        }
        if (t.isInterface() || t.isAnyPointer()) return;
        if (!path_.present(name.c_str())) return;
        path_.push("." + name);
        const std::string& q = path_.str();
        if (t.isText()) {
            std::string s = text_at(q);
            b.set(f, capnp::Text::Reader(s.c_str(), s.size()));
        } else if (t.isData()) {
            std::string s = data_at(q);
            b.set(f, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size()));
        } else if (t.isStruct()) {
            fill(b.init(f).as<capnp::DynamicStruct>(), t.asStruct());
        } else if (t.isList()) {
            fill_list(b.init(f, path_.list_size()).as<capnp::DynamicList>(), t.asList());
        }
        path_.pop();
    }

    void fill_list(capnp::DynamicList::Builder l, capnp::ListSchema ls) {
        auto et = ls.getElementType();
        using W = capnp::schema::Type;
        for (uint32_t i = 0; i < l.size(); ++i) {
            path_.push("[" + std::to_string(i) + "]");
            const std::string& p = path_.str();
            switch (et.which()) {
                case W::BOOL:
                    l.set(i, value_at<bool>(p));
                    break;
                case W::INT8:
                    l.set(i, value_at<int8_t>(p));
                    break;
                case W::INT16:
                    l.set(i, value_at<int16_t>(p));
                    break;
                case W::INT32:
                    l.set(i, value_at<int32_t>(p));
                    break;
                case W::INT64:
                    l.set(i, value_at<int64_t>(p));
                    break;
                case W::UINT8:
                    l.set(i, value_at<uint8_t>(p));
                    break;
                case W::UINT16:
                    l.set(i, value_at<uint16_t>(p));
                    break;
                case W::UINT32:
                    l.set(i, value_at<uint32_t>(p));
                    break;
                case W::UINT64:
                    l.set(i, value_at<uint64_t>(p));
                    break;
                case W::FLOAT32:
                    l.set(i, value_at<float>(p));
                    break;
                case W::FLOAT64:
                    l.set(i, value_at<double>(p));
                    break;
                case W::ENUM: {
                    auto es = et.asEnum();
                    l.set(i, capnp::DynamicEnum(es, static_cast<uint16_t>(hash(p) % es.getEnumerants().size())));
                    break;
                }
                case W::TEXT: {
                    std::string s = text_at(p);
                    l.set(i, capnp::Text::Reader(s.c_str(), s.size()));
                    break;
                }
                case W::DATA: {
                    std::string s = data_at(p);
                    l.set(i, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size()));
                    break;
                }
                case W::STRUCT:
                    fill(l[i].as<capnp::DynamicStruct>(), et.asStruct());
                    break;
                case W::LIST:
                    if (path_.depth() < kMaxDepth)
                        fill_list(l.init(i, path_.list_size()).as<capnp::DynamicList>(), et.asList());
                    break;
                default:
                    break;
            }
            path_.pop();
        }
    }

    Path path_;
};

// Walks a generated reader (through the generated visit()) beside the
// official library's DynamicStruct reader of the same bytes, recording every
// difference; with `use_oracle` also checks each value against the oracle.
class Compare {
public:
    Compare(capnp::DynamicStruct::Reader dyn, Path& path, bool use_oracle, std::vector<std::string>& errors,
            uint64_t& checked)
        : dyn_(dyn), path_(path), oracle_(use_oracle), errors_(errors), checked_(checked) {}

    void discriminant(uint16_t d) {
        ++checked_;
        KJ_IF_MAYBE (f, dyn_.which()) {
            if (f->getProto().getDiscriminantValue() != d) fail("which", "discriminant differs");
        } else {
            fail("which", "official reader sees no union");
        }
        if (!oracle_) return;
        // The fillers pick member `want`; if that is a pointer the oracle
        // leaves unset, nothing is written and the union reads as member 0,
        // whose value the oracle then does not predict.
        auto fields = dyn_.getSchema().getUnionFields();
        uint16_t want = path_.which(static_cast<uint16_t>(fields.size()));
        for (auto f : fields) {
            if (f.getProto().getDiscriminantValue() != want) continue;
            auto t = f.getType();
            bool ptr = !f.getProto().isGroup() && (t.isText() || t.isData() || t.isStruct() || t.isList());
            if (ptr && !path_.present(f.getProto().getName().cStr())) {
                want = 0;
                for (auto g : fields)
                    if (g.getProto().getDiscriminantValue() == 0) unpredicted_ = g.getProto().getName();
            }
        }
        if (d != want) fail("which", "discriminant differs from oracle");
    }

    template <typename T>
    void value(const char* name, T v) {
        ++checked_;
        T o = dyn_.get(name).as<T>();
        if (std::memcmp(&o, &v, sizeof(T)) != 0) fail(name, "value differs: ours " + show(v) + " official " + show(o));
        if (predicted(name)) {
            T e = value_at<T>(path_.field(name));
            if (std::memcmp(&e, &v, sizeof(T)) != 0)
                fail(name, "value differs from oracle: " + show(v) + " vs " + show(e));
        }
    }

    void enumerant(const char* name, uint16_t v) {
        ++checked_;
        auto e = dyn_.get(name).as<capnp::DynamicEnum>();
        if (e.getRaw() != v) fail(name, "enum differs");
        if (predicted(name) && v != hash(path_.field(name)) % e.getSchema().getEnumerants().size())
            fail(name, "enum differs from oracle");
    }

    void text(const char* name, bool has, cap::capnp::Text::Reader t) {
        ++checked_;
        check_has(name, has);
        auto o = dyn_.get(name).as<capnp::Text>();
        if (std::string(t.c_str(), t.size()) != std::string(o.cStr(), o.size())) fail(name, "text differs");
        if (t.c_str()[t.size()] != '\0') fail(name, "text not NUL-terminated");
        if (predicted(name) && has && std::string(t.c_str(), t.size()) != text_at(path_.field(name)))
            fail(name, "text differs from oracle");
    }

    void data(const char* name, bool has, cap::capnp::Data::Reader d) {
        ++checked_;
        check_has(name, has);
        auto o = dyn_.get(name).as<capnp::Data>();
        std::string ours(reinterpret_cast<const char*>(d.data()), d.size());
        if (ours != std::string(reinterpret_cast<const char*>(o.begin()), o.size())) fail(name, "data differs");
        if (predicted(name) && has && ours != data_at(path_.field(name))) fail(name, "data differs from oracle");
    }

    template <typename R>
    void structure(const char* name, bool has, const R& r) {
        ++checked_;
        check_has(name, has);
        // Absent structs read as defaults; compare those a few levels down
        // only, since a recursive type's defaults go on forever.
        if (!has && path_.depth() > kMaxDepth) return;
        path_.push(std::string(".") + name);
        Compare child(dyn_.get(name).template as<capnp::DynamicStruct>(), path_, predicted(name) && has, errors_,
                      checked_);
        visit(r, child);
        path_.pop();
    }

    template <typename R>
    void group(const char* name, const R& r) {
        path_.push(std::string(".") + name);
        Compare child(dyn_.get(name).template as<capnp::DynamicStruct>(), path_, predicted(name), errors_, checked_);
        visit(r, child);
        path_.pop();
    }

    template <typename L>
    void list(const char* name, bool has, const L& l) {
        ++checked_;
        check_has(name, has);
        path_.push(std::string(".") + name);
        bool o = predicted(name) && has;
        if (o && l.size() != path_.list_size()) fail(name, "list size differs from oracle");
        compare_list(l, dyn_.get(name).template as<capnp::DynamicList>(), o);
        path_.pop();
    }

    void capability(const char*, cap::capnp::CapSlot) {}
    void any(const char*, const cap::capnp::PointerReader&) {}

private:
    template <typename L>
    void compare_list(const L& l, capnp::DynamicList::Reader dl, bool o) {
        using T = typename L::Element;
        constexpr auto k = cap::capnp::kind_of<T>();
        if (l.size() != dl.size()) {
            fail("[]",
                 "list size differs: ours " + std::to_string(l.size()) + " official " + std::to_string(dl.size()));
            return;
        }
        for (uint32_t i = 0; i < l.size(); ++i) {
            ++checked_;
            path_.push("[" + std::to_string(i) + "]");
            const std::string p = path_.str();
            if constexpr (k == cap::capnp::Kind::Bool || k == cap::capnp::Kind::Primitive) {
                T v = l[i];
                T ov = dl[i].as<T>();
                if (std::memcmp(&v, &ov, sizeof(T)) != 0) fail("", "element differs");
                T e = value_at<T>(p);
                if (o && std::memcmp(&v, &e, sizeof(T)) != 0) fail("", "element differs from oracle");
            } else if constexpr (k == cap::capnp::Kind::Enum) {
                uint16_t v = static_cast<uint16_t>(l[i]);
                if (v != dl[i].as<capnp::DynamicEnum>().getRaw()) fail("", "enum element differs");
                if (o && v != hash(p) % cap::capnp::EnumInfo<T>::kCount) fail("", "enum element differs from oracle");
            } else if constexpr (k == cap::capnp::Kind::Struct) {
                Compare child(dl[i].as<capnp::DynamicStruct>(), path_, o, errors_, checked_);
                visit(l[i], child);
            } else if constexpr (k == cap::capnp::Kind::Text) {
                auto t = l[i];
                auto ot = dl[i].as<capnp::Text>();
                std::string ours(t.c_str(), t.size());
                if (ours != std::string(ot.cStr(), ot.size())) fail("", "text element differs");
                if (o && ours != text_at(p)) fail("", "text element differs from oracle");
            } else if constexpr (k == cap::capnp::Kind::Data) {
                auto d = l[i];
                auto od = dl[i].as<capnp::Data>();
                std::string ours(reinterpret_cast<const char*>(d.data()), d.size());
                if (ours != std::string(reinterpret_cast<const char*>(od.begin()), od.size()))
                    fail("", "data element differs");
                if (o && ours != data_at(p)) fail("", "data element differs from oracle");
            } else if constexpr (k == cap::capnp::Kind::List) {
                auto sub = l[i];
                if (o && path_.depth() < kMaxDepth && sub.size() != path_.list_size())
                    fail("", "nested list size differs from oracle");
                compare_list(sub, dl[i].as<capnp::DynamicList>(), o && path_.depth() < kMaxDepth);
            }
            path_.pop();
        }
    }

    void check_has(const char* name, bool has) {
        if (has != dyn_.has(name)) fail(name, "presence differs");
        if (predicted(name) && has != path_.present(name)) fail(name, "presence differs from oracle");
    }

    template <typename T>
    static std::string show(T v) {
        if constexpr (std::is_floating_point_v<T>) {
            return std::to_string(v);
        } else {
            return std::to_string(static_cast<long long>(v));
        }
    }

    [[nodiscard]] bool predicted(const char* name) const { return oracle_ && unpredicted_ != name; }

    void fail(const std::string& name, const std::string& what) {
        errors_.push_back(path_.str() + "." + name + ": " + what);
    }

    capnp::DynamicStruct::Reader dyn_;
    Path& path_;
    bool oracle_;
    std::vector<std::string>& errors_;
    uint64_t& checked_;
    std::string unpredicted_;
};

// Every struct schema (including groups and method params/results) of the
// parsed files, by type id.
class SchemaSet {
public:
    explicit SchemaSet(const std::vector<std::string>& files, const std::string& dir) {
        fs_ = kj::newDiskFilesystem();
        dir_ = fs_->getRoot().openSubdir(kj::Path::parse(dir.substr(1)));
        // /usr/include: the official compiler's own /capnp/*.capnp (stream.capnp for `-> stream`).
        sys_ = fs_->getRoot().openSubdir(kj::Path::parse("usr/include"));
        const kj::ReadableDirectory* imports[] = {dir_.get(), sys_.get()};
        for (const auto& f : files) {
            auto parsed = parser_.parseFromDirectory(*dir_, kj::Path::parse(f), kj::arrayPtr(imports, 2));
            add(parsed);
        }
    }

    [[nodiscard]] capnp::StructSchema get(uint64_t id) const {
        auto it = structs_.find(id);
        KJ_REQUIRE(it != structs_.end(), "struct not found in parsed schemas", id);
        return it->second;
    }
    [[nodiscard]] size_t size() const { return structs_.size(); }

private:
    void add(capnp::ParsedSchema p) {
        for (auto n : p.getAllNested()) {
            auto proto = n.getProto();
            if (proto.isStruct()) add_struct(n.asStruct());
            if (proto.isInterface()) {
                for (auto m : n.asInterface().getMethods()) {
                    add_struct(m.getParamType());
                    add_struct(m.getResultType());
                }
            }
            add(n);
        }
    }
    void add_struct(capnp::StructSchema s) {
        structs_.emplace(s.getProto().getId(), s);
        for (auto f : s.getFields())
            if (f.getProto().isGroup()) add_struct(f.getType().asStruct());
    }

    kj::Own<kj::Filesystem> fs_;
    kj::Own<const kj::ReadableDirectory> dir_;
    kj::Own<const kj::ReadableDirectory> sys_;
    capnp::SchemaParser parser_;
    std::map<uint64_t, capnp::StructSchema> structs_;
};

}  // namespace oracle
