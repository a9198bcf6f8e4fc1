// capnpc-capos: `capnp compile` plugin emitting freestanding C++ bindings for capOS.
//
// Reads a CodeGeneratorRequest on stdin (the official library parses it) and
// writes one header `<file>.h` per requested schema file into the current
// directory (capnp runs plugins in the output directory). The headers use
// only the runtime in schema/runtime/capos/capnp/ and freestanding headers.
//
// Layout of a generated header, chosen so that any struct may refer to any
// other (even cyclically) without nested-class ordering problems:
//   1. forward declarations: every struct/interface/group "traits" struct
//      (flat name, e.g. Foo_Bar for Foo.Bar) and its X_Reader / X_Builder;
//   2. enums (complete);
//   3. traits structs: ids, section sizes, aliases (Foo::Reader, Foo::Bar);
//   4. Reader/Builder class definitions with member declarations only;
//   5. inline member definitions;
//   6. interface client stubs and dispatch templates.
#include <capnp/schema.capnp.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <capnp/message.h>
#include <kj/io.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace sc = capnp::schema;

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "capnpc-capos: %s\n", msg.c_str());
    std::exit(1);
}

const std::set<std::string> kKeywords = {
    "alignas",     "alignof",   "and",        "and_eq",    "asm",      "auto",         "bitand",
    "bitor",       "bool",      "break",      "case",      "catch",    "char",         "char8_t",
    "char16_t",    "char32_t",  "class",      "compl",     "concept",  "const",        "consteval",
    "constexpr",   "constinit", "const_cast", "continue",  "co_await", "co_return",    "co_yield",
    "decltype",    "default",   "delete",     "do",        "double",   "dynamic_cast", "else",
    "enum",        "explicit",  "export",     "extern",    "false",    "float",        "for",
    "friend",      "goto",      "if",         "inline",    "int",      "long",         "mutable",
    "namespace",   "new",       "noexcept",   "not",       "not_eq",   "nullptr",      "operator",
    "or",          "or_eq",     "private",    "protected", "public",   "register",     "reinterpret_cast",
    "requires",    "return",    "short",      "signed",    "sizeof",   "static",       "static_assert",
    "static_cast", "struct",    "switch",     "template",  "this",     "thread_local", "throw",
    "true",        "try",       "typedef",    "typeid",    "typename", "union",        "unsigned",
    "using",       "virtual",   "void",       "volatile",  "wchar_t",  "while",        "xor",
    "xor_eq",      "raw",       "which"};

std::string snake(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (std::isupper(static_cast<unsigned char>(c))) {
            bool prev_lower = i > 0 && (std::islower(static_cast<unsigned char>(s[i - 1])) ||
                                        std::isdigit(static_cast<unsigned char>(s[i - 1])));
            bool next_lower = i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1]));
            bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(s[i - 1]));
            if (i > 0 && (prev_lower || (prev_upper && next_lower))) out += '_';
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            out += c;
        }
    }
    return out;
}

std::string ident(const std::string& s) {
    std::string n = snake(s);
    if (kKeywords.count(n) != 0) n += '_';
    return n;
}

std::string pascal(const std::string& s) {
    std::string n = s;
    if (!n.empty()) n[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(n[0])));
    return n;
}

std::string hex64(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%016" PRIx64 "ull", v);
    return buf;
}

std::string comment_block(const std::string& doc, const std::string& indent) {
    if (doc.empty()) return "";
    std::string out;
    std::istringstream in(doc);
    std::string line;
    while (std::getline(in, line)) out += indent + "// " + line + "\n";
    // Trim trailing spaces produced by empty lines.
    std::string cleaned;
    std::istringstream in2(out);
    while (std::getline(in2, line)) {
        while (!line.empty() && line.back() == ' ') line.pop_back();
        cleaned += line + "\n";
    }
    return cleaned;
}

class Generator {
public:
    explicit Generator(sc::CodeGeneratorRequest::Reader req) : req_(req) {
        for (auto node : req.getNodes()) nodes_[node.getId()] = node;
        // Doc comments live in sourceInfo.
        for (auto info : req.getSourceInfo()) {
            docs_[info.getId()] = info.getDocComment();
            std::vector<std::string> members;
            for (auto m : info.getMembers()) members.push_back(m.getDocComment());
            member_docs_[info.getId()] = members;
        }
        for (auto node : req.getNodes()) {
            if (node.isFile()) name_files(node);
        }
    }

    void generate(sc::CodeGeneratorRequest::RequestedFile::Reader file) {
        out_.str("");
        file_id_ = file.getId();
        std::string fname = file.getFilename();
        std::string base = fname.substr(fname.find_last_of('/') == std::string::npos ? 0 : fname.find_last_of('/') + 1);
        std::string guard_comment = base;
        {
            std::string stem = base.substr(0, base.find('.'));
            for (char& c : stem)
                if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
            names_[kStreamResultId] = "StreamResult_" + stem;
            docs_[kStreamResultId] = "capnp's StreamResult: the (empty) results of a `-> stream` method.";
        }

        std::vector<uint64_t> structs;  // every struct-like node, definition order
        std::vector<uint64_t> enums;
        std::vector<uint64_t> interfaces;
        std::vector<uint64_t> consts;
        collect(file_id_, structs, enums, interfaces, consts);

        out_ << "// Generated by capnpc-capos from " << base << "; do not edit.\n";
        out_ << "#pragma once\n\n";
        out_ << "#include <stdint.h>\n\n";
        out_ << "#include \"capos/capnp/capnp.h\"\n";
        for (auto imp : file.getImports()) {
            std::string iname = imp.getName();
            if (iname.rfind("/capnp/", 0) == 0) continue;
            std::string ibase =
                iname.substr(iname.find_last_of('/') == std::string::npos ? 0 : iname.find_last_of('/') + 1);
            out_ << "#include \"capos/schema/" << ibase << ".h\"\n";
        }
        out_ << "\nnamespace cap::schema {\n\n";
        out_ << "inline constexpr uint64_t " << file_const_name(base) << " = " << hex64(file_id_) << ";\n\n";

        // 1. forward declarations
        for (auto id : structs) {
            auto& n = names_.at(id);
            out_ << "struct " << n << ";\nclass " << n << "_Reader;\nclass " << n << "_Builder;\n";
        }
        for (auto id : interfaces) out_ << "struct " << names_.at(id) << ";\n";
        out_ << "\n";

        // 2. enums (schema enums and union discriminants)
        for (auto id : enums) emit_enum(id);
        for (auto id : structs) emit_which(id);

        // top-level constants
        for (auto id : consts) {
            if (nodes_.at(id).getScopeId() == file_id_) emit_const(id, "");
        }

        // 3. traits structs
        for (auto id : structs) emit_traits(id);
        for (auto id : interfaces) emit_interface_traits(id);

        // 4. reader/builder classes
        for (auto id : structs) emit_classes(id);

        // 5. inline definitions
        out_ << defs_.str();
        defs_.str("");

        // 6. interfaces
        for (auto id : interfaces) emit_interface(id);

        // 7. generic field walkers (printing, copying, tests) and the type registry
        for (auto id : structs) emit_walk_decls(id);
        for (auto id : structs) emit_walkers(id);
        out_ << "// Calls f.template operator()<T>(\"Name\") for every (non-group) struct of " << base << ".\n";
        out_ << "template <typename F>\nvoid for_each_struct_" << file_const_name(base).substr(8) << "(F& f) {\n";
        for (auto id : structs) {
            auto n = nodes_.at(id);
            if (n.getStruct().getIsGroup()) continue;
            out_ << "    f.template operator()<" << name_of(id) << ">(\"" << name_of(id) << "\");\n";
        }
        out_ << "}\n\n";

        out_ << "}  // namespace cap::schema\n";
        if (!enums.empty()) {
            out_ << "\nnamespace cap::capnp {\n";
            for (auto id : enums) {
                out_ << "template <>\nstruct EnumInfo<cap::schema::" << name_of(id)
                     << "> {\n    static constexpr uint16_t kCount = " << nodes_.at(id).getEnum().getEnumerants().size()
                     << ";\n};\n";
            }
            out_ << "}  // namespace cap::capnp\n";
        }

        std::ofstream f(base + ".h");
        if (!f) die("cannot write " + base + ".h");
        f << out_.str();
    }

private:
    std::string file_const_name(const std::string& base) {
        std::string n = "kFileId_";
        for (char c : base) n += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        return n;
    }

    // Assign flat C++ names to every node reachable from a file.
    void name_files(sc::Node::Reader file) {
        for (auto nested : file.getNestedNodes()) name_node(nested.getId(), nested.getName());
    }

    void name_node(uint64_t id, const std::string& name) {
        auto it = nodes_.find(id);
        if (it == nodes_.end()) return;
        names_[id] = name;
        auto node = it->second;
        for (auto nested : node.getNestedNodes()) name_node(nested.getId(), name + "_" + std::string(nested.getName()));
        if (node.isStruct()) {
            for (auto field : node.getStruct().getFields()) {
                if (field.isGroup()) name_node(field.getGroup().getTypeId(), name + "_" + pascal(field.getName()));
            }
        }
        if (node.isInterface()) {
            for (auto m : node.getInterface().getMethods()) {
                auto p = nodes_.find(m.getParamStructType());
                if (p != nodes_.end() && p->second.getScopeId() == 0)
                    name_node(m.getParamStructType(), name + "_" + pascal(m.getName()) + "Params");
                auto r = nodes_.find(m.getResultStructType());
                if (r != nodes_.end() && r->second.getScopeId() == 0)
                    name_node(m.getResultStructType(), name + "_" + pascal(m.getName()) + "Results");
            }
        }
    }

    void collect(uint64_t id, std::vector<uint64_t>& structs, std::vector<uint64_t>& enums,
                 std::vector<uint64_t>& interfaces, std::vector<uint64_t>& consts) {
        auto node = nodes_.at(id);
        switch (node.which()) {
            case sc::Node::STRUCT:
                structs.push_back(id);
                for (auto field : node.getStruct().getFields())
                    if (field.isGroup()) collect(field.getGroup().getTypeId(), structs, enums, interfaces, consts);
                break;
            case sc::Node::ENUM:
                enums.push_back(id);
                break;
            case sc::Node::INTERFACE:
                interfaces.push_back(id);
                for (auto m : node.getInterface().getMethods()) {
                    for (uint64_t sid : {m.getParamStructType(), m.getResultStructType()}) {
                        auto s = nodes_.find(sid);
                        if (s == nodes_.end()) die("missing method struct");
                        if (s->second.getScopeId() == 0) collect(sid, structs, enums, interfaces, consts);
                        // `-> stream`: capnp's StreamResult (an empty struct of
                        // /capnp/stream.capnp, which gets no header of its
                        // own here) is emitted into this file once, under a
                        // name of this file's (StreamResult_<file>), so two
                        // headers that both stream can be included together.
                        if (sid == kStreamResultId && std::find(structs.begin(), structs.end(), sid) == structs.end())
                            structs.push_back(sid);
                    }
                }
                break;
            case sc::Node::CONST:
                consts.push_back(id);
                break;
            default:
                break;
        }
        for (auto nested : node.getNestedNodes()) collect(nested.getId(), structs, enums, interfaces, consts);
    }

    std::string name_of(uint64_t id) {
        auto it = names_.find(id);
        if (it == names_.end()) die("type without a name: " + hex64(id));
        return it->second;
    }

    std::string doc(uint64_t id) {
        auto it = docs_.find(id);
        return it == docs_.end() ? std::string() : it->second;
    }

    std::string member_doc(uint64_t id, uint32_t index) {
        auto it = member_docs_.find(id);
        if (it == member_docs_.end() || index >= it->second.size()) return "";
        return it->second[index];
    }

    // C++ spelling of a schema type as a List<> element / traits argument.
    std::string type_name(sc::Type::Reader t) {
        switch (t.which()) {
            case sc::Type::VOID:
                return "cap::capnp::Void";
            case sc::Type::BOOL:
                return "bool";
            case sc::Type::INT8:
                return "int8_t";
            case sc::Type::INT16:
                return "int16_t";
            case sc::Type::INT32:
                return "int32_t";
            case sc::Type::INT64:
                return "int64_t";
            case sc::Type::UINT8:
                return "uint8_t";
            case sc::Type::UINT16:
                return "uint16_t";
            case sc::Type::UINT32:
                return "uint32_t";
            case sc::Type::UINT64:
                return "uint64_t";
            case sc::Type::FLOAT32:
                return "float";
            case sc::Type::FLOAT64:
                return "double";
            case sc::Type::TEXT:
                return "cap::capnp::Text";
            case sc::Type::DATA:
                return "cap::capnp::Data";
            case sc::Type::LIST:
                return "cap::capnp::List<" + type_name(t.getList().getElementType()) + ">";
            case sc::Type::ENUM:
                check_brand(t.getEnum().getBrand());
                return name_of(t.getEnum().getTypeId());
            case sc::Type::STRUCT:
                check_brand(t.getStruct().getBrand());
                return name_of(t.getStruct().getTypeId());
            case sc::Type::INTERFACE:
                check_brand(t.getInterface().getBrand());
                return name_of(t.getInterface().getTypeId());
            case sc::Type::ANY_POINTER:
                return "cap::capnp::AnyPointer";
        }
        die("unknown type");
    }

    // Generics by erasure: a generic type is emitted once, its type
    // parameters as AnyPointer, and a branded use (`Box(Text)`) names that
    // one type; the brand's bindings are not carried into the C++ types.
    void check_brand(sc::Brand::Reader) {}

    // Int8..Float64: a plain number in the data section (schema.capnp numbers
    // Type's union members int8 @2 .. float64 @11 in that order).
    static bool is_number(sc::Type::Reader t) { return t.which() >= sc::Type::INT8 && t.which() <= sc::Type::FLOAT64; }

    // Bool or a number: a value C++ spells as a literal of its own type.
    static bool is_scalar(sc::Type::Reader t) { return t.isBool() || is_number(t); }

    static bool is_pointer(sc::Type::Reader t) {
        switch (t.which()) {
            case sc::Type::TEXT:
            case sc::Type::DATA:
            case sc::Type::LIST:
            case sc::Type::STRUCT:
            case sc::Type::INTERFACE:
            case sc::Type::ANY_POINTER:
                return true;
            default:
                return false;
        }
    }

    // The default's bit pattern as an unsigned literal, for XOR-ing.
    static std::string default_bits(sc::Type::Reader t, sc::Value::Reader v) {
        char buf[64];
        uint64_t bits = 0;
        switch (v.which()) {
            case sc::Value::INT8:
                bits = static_cast<uint8_t>(v.getInt8());
                break;
            case sc::Value::INT16:
                bits = static_cast<uint16_t>(v.getInt16());
                break;
            case sc::Value::INT32:
                bits = static_cast<uint32_t>(v.getInt32());
                break;
            case sc::Value::INT64:
                bits = static_cast<uint64_t>(v.getInt64());
                break;
            case sc::Value::UINT8:
                bits = v.getUint8();
                break;
            case sc::Value::UINT16:
                bits = v.getUint16();
                break;
            case sc::Value::UINT32:
                bits = v.getUint32();
                break;
            case sc::Value::UINT64:
                bits = v.getUint64();
                break;
            case sc::Value::FLOAT32: {
                float f = v.getFloat32();
                uint32_t b;
                std::memcpy(&b, &f, 4);
                bits = b;
                break;
            }
            case sc::Value::FLOAT64: {
                double d = v.getFloat64();
                std::memcpy(&bits, &d, 8);
                break;
            }
            case sc::Value::ENUM:
                bits = v.getEnum();
                break;
            default:
                break;
        }
        (void)t;
        std::snprintf(buf, sizeof buf, "0x%" PRIx64 "u%s", bits, bits > 0xffffffffu ? "ll" : "");
        return buf;
    }

    static std::string literal(sc::Type::Reader t, sc::Value::Reader v) {
        char buf[64];
        switch (v.which()) {
            case sc::Value::BOOL:
                return v.getBool() ? "true" : "false";
            case sc::Value::INT8:
                return std::to_string(v.getInt8());
            case sc::Value::INT16:
                return std::to_string(v.getInt16());
            case sc::Value::INT32:
                return std::to_string(v.getInt32());
            case sc::Value::INT64:
                if (v.getInt64() == INT64_MIN) return "(-9223372036854775807ll - 1)";
                return std::to_string(v.getInt64()) + "ll";
            case sc::Value::UINT8:
                return std::to_string(v.getUint8()) + "u";
            case sc::Value::UINT16:
                return std::to_string(v.getUint16()) + "u";
            case sc::Value::UINT32:
                return std::to_string(v.getUint32()) + "u";
            case sc::Value::UINT64:
                return std::to_string(v.getUint64()) + "ull";
            // Floats by their bit pattern: exact, and valid C++ for every
            // value, infinities, NaNs and -0 included (a decimal print gives
            // "inf", "nan" or an integer with an 'f' suffix).
            case sc::Value::FLOAT32: {
                const float f = v.getFloat32();
                uint32_t b;
                std::memcpy(&b, &f, 4);
                std::snprintf(buf, sizeof buf, "__builtin_bit_cast(float, 0x%08" PRIx32 "u)", b);
                return buf;
            }
            case sc::Value::FLOAT64: {
                const double d = v.getFloat64();
                uint64_t b;
                std::memcpy(&b, &d, 8);
                std::snprintf(buf, sizeof buf, "__builtin_bit_cast(double, 0x%016" PRIx64 "ull)", b);
                return buf;
            }
            default:
                break;
        }
        (void)t;
        return "0";
    }

    static std::string c_string(const char* p, size_t n) {
        std::string s = "\"";
        for (size_t i = 0; i < n; ++i) {
            unsigned char c = static_cast<unsigned char>(p[i]);
            char buf[8];
            if (c == '"' || c == '\\') {
                s += '\\';
                s += static_cast<char>(c);
            } else if (c >= 0x20 && c < 0x7f && c != '?') {
                s += static_cast<char>(c);
            } else {
                std::snprintf(buf, sizeof buf, "\\%03o", c);
                s += buf;
            }
        }
        return s + "\"";
    }

    // Emits a constant default message for a struct/list default; returns the
    // expression giving its DefaultValue*, or "nullptr".
    std::string pointer_default(const std::string& owner, const std::string& field, sc::Value::Reader v) {
        capnp::AnyPointer::Reader any;
        switch (v.which()) {
            case sc::Value::STRUCT:
                any = v.getStruct();
                break;
            case sc::Value::LIST:
                any = v.getList();
                break;
            case sc::Value::ANY_POINTER:
                any = v.getAnyPointer();
                break;
            default:
                return "nullptr";
        }
        if (any.isNull()) return "nullptr";
        auto size = any.targetSize();
        capnp::MallocMessageBuilder mb(static_cast<unsigned>(size.wordCount + 16),
                                       capnp::AllocationStrategy::FIXED_SIZE);
        mb.setRoot(any);
        auto segs = mb.getSegmentsForOutput();
        if (segs.size() != 1) die("default value spans segments");
        auto words = segs[0];
        auto bytes = words.asBytes();
        std::string var = "k" + owner + "_" + pascal(field) + "_default";
        out_ << "alignas(8) inline constexpr uint8_t " << var << "_words[] = {";
        for (size_t i = 0; i < bytes.size(); ++i) {
            if (i % 16 == 0) out_ << "\n    ";
            out_ << static_cast<unsigned>(bytes[i]) << ",";
        }
        out_ << "\n};\n";
        out_ << "inline cap::capnp::DefaultValue " << var << "{" << var << "_words, " << words.size() << "};\n\n";
        return "&" + var;
    }

    void emit_enum(uint64_t id) {
        auto node = nodes_.at(id);
        std::string name = name_of(id);
        out_ << comment_block(doc(id), "");
        out_ << "enum class " << name << " : uint16_t {\n";
        uint32_t i = 0;
        for (auto e : node.getEnum().getEnumerants()) {
            out_ << comment_block(member_doc(id, i), "    ");
            out_ << "    " << pascal(e.getName()) << " = " << i << ",\n";
            ++i;
        }
        out_ << "};\n\n";
    }

    void emit_which(uint64_t id) {
        auto st = nodes_.at(id).getStruct();
        if (st.getDiscriminantCount() == 0) return;
        out_ << "// Which member of " << name_of(id) << "'s union is set.\n";
        out_ << "enum class " << name_of(id) << "_Which : uint16_t {\n";
        for (auto f : st.getFields()) {
            if (f.getDiscriminantValue() != sc::Field::NO_DISCRIMINANT)
                out_ << "    " << pascal(f.getName()) << " = " << f.getDiscriminantValue() << ",\n";
        }
        out_ << "};\n\n";
    }

    void emit_const(uint64_t id, const std::string& indent) {
        auto node = nodes_.at(id);
        auto c = node.getConst();
        auto t = c.getType();
        auto v = c.getValue();
        std::string name = "k" + pascal(node.getDisplayName().slice(node.getDisplayNamePrefixLength()).cStr());
        std::string storage = indent.empty() ? "inline constexpr " : "static constexpr ";
        out_ << comment_block(doc(id), indent);
        if (is_scalar(t)) {
            out_ << indent << storage << type_name(t) << " " << name << " = " << literal(t, v) << ";\n";
            return;
        }
        switch (t.which()) {
            case sc::Type::ENUM:
                out_ << indent << storage << type_name(t) << " " << name << " = static_cast<" << type_name(t) << ">("
                     << v.getEnum() << ");\n";
                break;
            case sc::Type::TEXT: {
                auto s = v.getText();
                out_ << indent << storage << "const char " << name << "[] = " << c_string(s.cStr(), s.size()) << ";\n";
                break;
            }
            default:
                out_ << indent << "// (constant " << name << " of a pointer type is not generated)\n";
                break;
        }
    }

    // Inside a traits struct: each nested constant, and an alias for each
    // nested type (Foo::Bar names Foo_Bar).
    void emit_nested(sc::Node::Reader node) {
        for (auto nested : node.getNestedNodes()) {
            auto nn = nodes_.find(nested.getId());
            if (nn == nodes_.end()) continue;
            if (nn->second.isConst()) {
                emit_const(nested.getId(), "    ");
            } else if (!nn->second.isAnnotation()) {
                out_ << "    using " << nested.getName().cStr() << " = " << name_of(nested.getId()) << ";\n";
            }
        }
    }

    void emit_traits(uint64_t id) {
        auto node = nodes_.at(id);
        auto st = node.getStruct();
        std::string name = name_of(id);
        out_ << comment_block(doc(id), "");
        out_ << "struct " << name << " {\n";
        out_ << "    static constexpr uint64_t kTypeId = " << hex64(id) << ";\n";
        out_ << "    static constexpr uint16_t kDataWords = " << st.getDataWordCount() << ";\n";
        out_ << "    static constexpr uint16_t kPointerCount = " << st.getPointerCount() << ";\n";
        out_ << "    static constexpr cap::capnp::Kind kKind = cap::capnp::Kind::Struct;\n";
        out_ << "    using Reader = " << name << "_Reader;\n";
        out_ << "    using Builder = " << name << "_Builder;\n";
        if (st.getDiscriminantCount() != 0) out_ << "    using Which = " << name << "_Which;\n";
        emit_nested(node);
        for (auto f : st.getFields())
            if (f.isGroup())
                out_ << "    using " << pascal(f.getName()) << " = " << name_of(f.getGroup().getTypeId()) << ";\n";
        out_ << "};\n\n";
    }

    struct Accessors {
        std::ostringstream rdecl, bdecl;
    };

    // One member function: its declaration in a class body (`decl`) and its
    // inline definition in defs_ (after all classes, so it may use any type).
    // `sig` follows the name ("() const", "(bool v)"); `body` is the
    // statements between the braces, each ending in "; ".
    void member(std::ostringstream& decl, const char* attr, const std::string& cls, const std::string& ret,
                const std::string& fn, const std::string& sig, const std::string& body) {
        decl << "    " << attr << ret << " " << fn << sig << ";\n";
        defs_ << "inline " << ret << " " << cls << "::" << fn << sig << " { " << body << "}\n";
    }

    // The same [[nodiscard]] const getter on the Reader and on the Builder;
    // value(obj) is the returned expression over obj (r_ or b_).
    template <typename Value>
    void getter_pair(std::ostringstream& r, std::ostringstream& b, const std::string& rn, const std::string& bn,
                     const std::string& ret, const std::string& fn, Value value) {
        member(r, "[[nodiscard]] ", rn, ret, fn, "() const", "return " + value("r_") + "; ");
        member(b, "[[nodiscard]] ", bn, ret, fn, "() const", "return " + value("b_") + "; ");
    }

    void emit_classes(uint64_t id) {
        auto node = nodes_.at(id);
        auto st = node.getStruct();
        std::string name = name_of(id);
        std::string rn = name + "_Reader";
        std::string bn = name + "_Builder";

        // Defaults for pointer fields are emitted before the classes.
        std::ostringstream r, b;
        r << "// Reads a " << name << " (bounds-checked; missing or malformed fields read as defaults).\n";
        r << "class " << rn << " {\npublic:\n";
        r << "    constexpr " << rn << "() = default;\n";
        r << "    explicit " << rn << "(cap::capnp::StructReader r) : r_(r) {}\n";
        r << "    [[nodiscard]] const cap::capnp::StructReader& raw() const { return r_; }\n";
        b << "// Builds a " << name << " in place in its message.\n";
        b << "class " << bn << " {\npublic:\n";
        b << "    constexpr " << bn << "() = default;\n";
        b << "    explicit " << bn << "(cap::capnp::StructBuilder b) : b_(b) {}\n";
        b << "    [[nodiscard]] const cap::capnp::StructBuilder& raw() const { return b_; }\n";
        b << "    [[nodiscard]] bool is_null() const { return b_.is_null(); }\n";

        std::string disc_set;
        if (st.getDiscriminantCount() != 0) {
            const std::string off = std::to_string(st.getDiscriminantOffset());
            getter_pair(r, b, rn, bn, name + "_Which", "which", [&](const std::string& o) {
                return "static_cast<" + name + "_Which>(" + o + ".get<uint16_t>(" + off + "))";
            });
        }

        uint32_t index = 0;
        for (auto f : st.getFields()) {
            std::string fdoc = comment_block(member_doc(id, index), "    ");
            ++index;
            std::string fname = ident(f.getName());
            std::string setdisc;
            r << fdoc;
            b << fdoc;
            if (f.getDiscriminantValue() != sc::Field::NO_DISCRIMINANT) {
                setdisc = "b_.set<uint16_t>(" + std::to_string(st.getDiscriminantOffset()) + ", " +
                          std::to_string(f.getDiscriminantValue()) + "); ";
                const std::string is_set = "which() == " + name + "_Which::" + pascal(f.getName());
                getter_pair(r, b, rn, bn, "bool", "is_" + snake(f.getName()),
                            [&](const std::string&) { return is_set; });
            }
            if (f.isGroup()) {
                std::string g = name_of(f.getGroup().getTypeId());
                member(r, "[[nodiscard]] ", rn, g + "_Reader", fname, "() const", "return " + g + "_Reader(r_); ");
                member(b, "[[nodiscard]] ", bn, g + "_Builder", fname, "()",
                       setdisc + "return " + g + "_Builder(b_); ");
                continue;
            }
            auto slot = f.getSlot();
            auto t = slot.getType();
            uint32_t off = slot.getOffset();
            auto dv = slot.getDefaultValue();
            std::string setter = "set_" + snake(f.getName());
            std::string init = "init_" + snake(f.getName());
            std::string has = "has_" + snake(f.getName());
            switch (t.which()) {
                case sc::Type::VOID:
                    if (!setdisc.empty()) member(b, "", bn, "void", setter, "()", setdisc);
                    break;
                case sc::Type::BOOL: {
                    const std::string at = std::to_string(off) + ", ";
                    const std::string def = dv.isBool() && dv.getBool() ? "true" : "false";
                    getter_pair(r, b, rn, bn, "bool", fname,
                                [&](const std::string& o) { return o + ".get_bool(" + at + def + ")"; });
                    member(b, "", bn, "void", setter, "(bool v)", setdisc + "b_.set_bool(" + at + "v, " + def + "); ");
                    break;
                }
                case sc::Type::ENUM: {
                    // Stored as its UInt16 ordinal, XOR the default's.
                    const std::string tn = type_name(t);
                    const std::string at = std::to_string(off) + ", ";
                    const std::string mask = default_bits(t, dv);
                    getter_pair(r, b, rn, bn, tn, fname, [&](const std::string& o) {
                        return "static_cast<" + tn + ">(" + o + ".get<uint16_t>(" + at + mask + "))";
                    });
                    member(b, "", bn, "void", setter, "(" + tn + " v)",
                           setdisc + "b_.set<uint16_t>(" + at + "static_cast<uint16_t>(v), " + mask + "); ");
                    break;
                }
                default: {
                    if (is_number(t)) {
                        const std::string tn = type_name(t);
                        const std::string at = std::to_string(off) + ", ";
                        const std::string mask = default_bits(t, dv);
                        getter_pair(r, b, rn, bn, tn, fname,
                                    [&](const std::string& o) { return o + ".get<" + tn + ">(" + at + mask + ")"; });
                        member(b, "", bn, "void", setter, "(" + tn + " v)",
                               setdisc + "b_.set<" + tn + ">(" + at + "v, " + mask + "); ");
                        break;
                    }
                    // Pointer fields.
                    member(r, "[[nodiscard]] ", rn, "bool", has, "() const",
                           "return !r_.pointer(" + std::to_string(off) + ").is_null(); ");
                    emit_pointer_field(name, rn, bn, r, b, fname, setter, init, setdisc, t, dv, off, f.getName());
                    break;
                }
            }
        }
        r << "\nprivate:\n    cap::capnp::StructReader r_;\n};\n\n";
        b << "\nprivate:\n    cap::capnp::StructBuilder b_;\n};\n\n";
        out_ << r.str() << b.str();
    }

    void emit_pointer_field(const std::string& name, const std::string& rn, const std::string& bn,
                            std::ostringstream& r, std::ostringstream& b, const std::string& fname,
                            const std::string& setter, const std::string& init, const std::string& setdisc,
                            sc::Type::Reader t, sc::Value::Reader dv, uint32_t off, const std::string& raw_name) {
        std::string ptr = "r_.pointer(" + std::to_string(off) + ")";
        std::string bptr = "b_.pointer(" + std::to_string(off) + ")";
        switch (t.which()) {
            case sc::Type::TEXT:
            case sc::Type::DATA: {
                bool text = t.isText();
                std::string tn = text ? "cap::capnp::Text" : "cap::capnp::Data";
                std::string def = "cap::capnp::BlobView{}";
                if (text && dv.isText() && dv.getText().size() != 0) {
                    auto s = dv.getText();
                    def = "cap::capnp::BlobView{reinterpret_cast<const uint8_t*>(" + c_string(s.cStr(), s.size()) +
                          "), " + std::to_string(s.size()) + "}";
                } else if (!text && dv.isData() && dv.getData().size() != 0) {
                    auto d = dv.getData();
                    def = "cap::capnp::BlobView{reinterpret_cast<const uint8_t*>(" +
                          c_string(reinterpret_cast<const char*>(d.begin()), d.size()) + "), " +
                          std::to_string(d.size()) + "}";
                }
                const std::string kind = text ? "text" : "data";
                member(r, "[[nodiscard]] ", rn, tn + "::Reader", fname, "() const",
                       "return " + tn + "::Reader(" + ptr + ".get_" + kind + "(" + def + ")); ");
                member(b, "", bn, tn + "::Builder", init, "(uint32_t size)",
                       setdisc + "return " + tn + "::Builder(" + bptr + ".init_" + kind + "(size)); ");
                if (text) {
                    member(b, "", bn, "void", setter, "(const char* s, uint32_t size)",
                           setdisc + "(void)" + bptr + ".set_text(s, size); ");
                    member(b, "", bn, "void", setter, "(const char* s)",
                           setter + "(s, static_cast<uint32_t>(__builtin_strlen(s))); ");
                } else {
                    member(b, "", bn, "void", setter, "(const uint8_t* p, uint32_t size)",
                           setdisc + "(void)" + bptr + ".set_data(p, size); ");
                }
                break;
            }
            case sc::Type::STRUCT: {
                std::string sn = type_name(t);
                std::string def = pointer_default(name, raw_name, dv);
                member(r, "[[nodiscard]] ", rn, sn + "_Reader", fname, "() const",
                       "return " + sn + "_Reader(" + ptr + ".get_struct(" + def + ")); ");
                member(b, "", bn, sn + "_Builder", init, "()",
                       setdisc + "return " + sn + "_Builder(" + bptr + ".init_struct(" + sn + "::kDataWords, " + sn +
                           "::kPointerCount)); ");
                break;
            }
            case sc::Type::LIST: {
                std::string ln = type_name(t);
                std::string def = pointer_default(name, raw_name, dv);
                member(r, "[[nodiscard]] ", rn, ln + "::Reader", fname, "() const",
                       "return " + ln + "::Reader(" + ptr + ".get_list(" + ln + "::kElementSize, " + def + ")); ");
                member(b, "", bn, ln + "::Builder", init, "(uint32_t size)",
                       setdisc + "return " + ln + "::init(" + bptr + ", size); ");
                break;
            }
            case sc::Type::INTERFACE: {
                r << "    // The capability slot this field names (via the message's capability table).\n";
                member(r, "[[nodiscard]] ", rn, "cap::capnp::CapSlot", fname, "() const",
                       "return cap::capnp::read_pointer<" + type_name(t) + ">(" + ptr + "); ");
                b << "    // Stores capability slot `slot` in the message's capability table.\n";
                member(b, "", bn, "bool", setter, "(uint32_t slot)",
                       setdisc + "return " + bptr + ".set_capability(slot); ");
                break;
            }
            case sc::Type::ANY_POINTER: {
                member(r, "[[nodiscard]] ", rn, "cap::capnp::PointerReader", fname, "() const", "return " + ptr + "; ");
                member(b, "", bn, "cap::capnp::PointerBuilder", init, "()", setdisc + "return " + bptr + "; ");
                break;
            }
            default:
                die("unexpected pointer type");
        }
    }

    void emit_walk_decls(uint64_t id) {
        std::string name = name_of(id);
        out_ << "template <typename V>\nvoid visit(const " << name << "_Reader& r, V& v);\n";
        out_ << "template <typename F>\nvoid fill(" << name << "_Builder b, F& f);\n";
    }

    // visit(reader, visitor) reports each set field to the visitor (only the
    // active union member); fill(builder, filler) sets every field from the
    // filler's answers. Both are generic over the visitor/filler so that
    // tests, printers and copiers share them; see test/unit/schema.
    void emit_walkers(uint64_t id) {
        auto st = nodes_.at(id).getStruct();
        std::string name = name_of(id);
        std::ostringstream vis, fil, vu, fu;
        uint32_t union_count = st.getDiscriminantCount();
        for (auto f : st.getFields()) {
            std::string raw = f.getName();
            std::string q = "\"" + raw + "\"";
            std::string acc = ident(raw);
            std::string vline, fline;
            if (f.isGroup()) {
                vline = "v.group(" + q + ", r." + acc + "());";
                fline = "f.group(" + q + "); fill(b." + acc + "(), f); f.ascend();";
            } else {
                auto t = f.getSlot().getType();
                std::string sn = snake(raw);
                // A pointer field: the visitor learns whether it is set; the
                // filler is asked to descend into it and fills it if it does.
                auto visit_pointer = [&](const char* kind) {
                    return "v." + std::string(kind) + "(" + q + ", r.has_" + sn + "(), r." + acc + "());";
                };
                auto descend = [&](const std::string& body) {
                    return "if (f.descend(" + q + ")) { " + body + " f.ascend(); }";
                };
                if (is_scalar(t)) {
                    vline = "v.value(" + q + ", r." + acc + "());";
                    fline = "b.set_" + sn + "(f.template value<" + type_name(t) + ">(" + q + "));";
                } else switch (t.which()) {
                        case sc::Type::VOID:
                            vline = "";
                            fline = f.getDiscriminantValue() != sc::Field::NO_DISCRIMINANT ? "b.set_" + sn + "();" : "";
                            break;
                        case sc::Type::ENUM: {
                            auto en = nodes_.at(t.getEnum().getTypeId());
                            vline = "v.enumerant(" + q + ", static_cast<uint16_t>(r." + acc + "()));";
                            fline = "b.set_" + sn + "(f.template enumerant<" + type_name(t) + ">(" + q + ", " +
                                    std::to_string(en.getEnum().getEnumerants().size()) + "));";
                            break;
                        }
                        case sc::Type::TEXT:
                            vline = visit_pointer("text");
                            fline = descend("auto x = f.text(); b.set_" + sn + "(x.data, x.size);");
                            break;
                        case sc::Type::DATA:
                            vline = visit_pointer("data");
                            fline = descend("auto x = f.data(); b.set_" + sn + "(x.data, x.size);");
                            break;
                        case sc::Type::STRUCT:
                            vline = visit_pointer("structure");
                            fline = descend("fill(b.init_" + sn + "(), f);");
                            break;
                        case sc::Type::LIST:
                            vline = visit_pointer("list");
                            fline = descend("auto l = b.init_" + sn + "(f.size()); f.fill_list(l);");
                            break;
                        case sc::Type::INTERFACE:
                            vline = "v.capability(" + q + ", r." + acc + "());";
                            fline = "";
                            break;
                        default:
                            vline = "v.any(" + q + ", r." + acc + "());";
                            fline = "";
                            break;
                    }
            }
            if (f.getDiscriminantValue() != sc::Field::NO_DISCRIMINANT) {
                vu << "        case " << name << "_Which::" << pascal(raw) << ": " << vline << " break;\n";
                fu << "        case " << f.getDiscriminantValue() << ": { " << fline << " break; }\n";
            } else {
                if (!vline.empty()) vis << "    " << vline << "\n";
                if (!fline.empty()) fil << "    " << fline << "\n";
            }
        }
        out_ << "template <typename V>\ninline void visit(const " << name << "_Reader& r, V& v) {\n";
        if (union_count != 0) {
            out_ << "    v.discriminant(static_cast<uint16_t>(r.which()));\n";
            out_ << "    switch (r.which()) {\n" << vu.str() << "        default: break;\n    }\n";
        }
        out_ << vis.str();
        out_ << "    (void)r;\n    (void)v;\n}\n\n";
        out_ << "template <typename F>\ninline void fill(" << name << "_Builder b, F& f) {\n";
        if (union_count != 0) {
            out_ << "    switch (f.which(" << union_count << ")) {\n" << fu.str() << "        default: break;\n    }\n";
        }
        out_ << fil.str();
        out_ << "    (void)b;\n    (void)f;\n}\n\n";
    }

    void emit_interface_traits(uint64_t id) {
        auto node = nodes_.at(id);
        auto iface = node.getInterface();
        std::string name = name_of(id);
        out_ << comment_block(doc(id), "");
        out_ << "struct " << name << " {\n";
        out_ << "    static constexpr uint64_t kInterfaceId = " << hex64(id) << ";\n";
        out_ << "    static constexpr cap::capnp::Kind kKind = cap::capnp::Kind::Interface;\n";
        out_ << "    // Method ordinals: with kInterfaceId, the address of a call on the ring.\n";
        out_ << "    struct Methods {\n";
        uint16_t ordinal = 0;
        for (auto m : iface.getMethods())
            out_ << "        static constexpr uint16_t " << ident(m.getName()) << " = " << ordinal++ << ";\n";
        out_ << "    };\n";
        for (auto m : iface.getMethods()) {
            std::string p = pascal(m.getName());
            out_ << "    using " << p << "Params = " << name_of(m.getParamStructType()) << ";\n";
            out_ << "    using " << p << "Results = " << name_of(m.getResultStructType()) << ";\n";
        }
        emit_nested(node);
        out_ << "};\n\n";
    }

    void emit_interface(uint64_t id) {
        auto node = nodes_.at(id);
        auto iface = node.getInterface();
        std::string name = name_of(id);
        // Method ordinals are the position in the methods list (the @n).
        std::vector<std::pair<uint16_t, sc::Method::Reader>> methods;
        uint16_t ordinal = 0;
        for (auto m : iface.getMethods()) methods.emplace_back(ordinal++, m);

        out_ << "// Client stub for " << name << ": builds params into a caller's MessageBuilder,\n";
        out_ << "// sends them through Transport (see capos/capnp/rpc.h), reads typed results.\n";
        out_ << "template <cap::capnp::Transport T>\n";
        out_ << "class " << name << "_Client {\npublic:\n";
        out_ << "    " << name << "_Client(T& transport, uint32_t slot) : t_(&transport), slot_(slot) {}\n";
        out_ << "    [[nodiscard]] uint32_t slot() const { return slot_; }\n";
        for (auto& [ord, m] : methods) {
            std::string mn = ident(m.getName());
            std::string pn = name_of(m.getParamStructType());
            std::string resn = name_of(m.getResultStructType());
            out_ << "\n" << comment_block(member_doc(id, ord), "    ");
            out_ << "    static " << pn << "_Builder " << snake(m.getName())
                 << "_params(cap::capnp::MessageBuilder& msg) {\n"
                 << "        return msg.init_root<" << pn << ">();\n    }\n";
            out_ << "    [[nodiscard]] cap::capnp::Error " << mn
                 << "(cap::capnp::MessageBuilder& params, cap::capnp::MessageReader& results) {\n"
                 << "        return t_->call(slot_, cap::capnp::MethodAddress{" << name << "::kInterfaceId, " << ord
                 << "}, params, results);\n    }\n";
            out_ << "    static " << resn << "_Reader " << snake(m.getName())
                 << "_results(cap::capnp::MessageReader& results) {\n"
                 << "        return results.root<" << resn << ">();\n    }\n";
        }
        out_ << "\nprivate:\n    T* t_;\n    uint32_t slot_;\n};\n\n";

        out_ << "// Server skeleton for " << name << ": validates the params message, then calls\n";
        out_ << "// impl.<method>(params_reader, results_builder) -> cap::capnp::Error.\n";
        out_ << "template <typename Impl>\n";
        out_ << "[[nodiscard]] cap::capnp::Error " << name
             << "_dispatch(uint64_t interface_id, uint16_t method, cap::capnp::MessageReader& params,\n"
             << "        cap::capnp::MessageBuilder& results, Impl& impl) {\n";
        out_ << "    if (interface_id != " << name << "::kInterfaceId) {\n";
        for (auto super : iface.getSuperclasses()) {
            std::string sn = name_of(super.getId());
            out_ << "        if (interface_id == " << sn << "::kInterfaceId) return " << sn
                 << "_dispatch(interface_id, method, params, results, impl);\n";
        }
        out_ << "        return cap::capnp::Error::UnknownInterface;\n    }\n";
        if (methods.empty()) {
            out_ << "    (void)method;\n    (void)params;\n    (void)results;\n    (void)impl;\n";
            out_ << "    return cap::capnp::Error::UnknownMethod;\n}\n\n";
            return;
        }
        out_ << "    switch (method) {\n";
        for (auto& [ord, m] : methods) {
            std::string pn = name_of(m.getParamStructType());
            std::string resn = name_of(m.getResultStructType());
            out_ << "        case " << ord << ": {\n";
            out_ << "            if (cap::capnp::Error e = params.validate(); e != cap::capnp::Error::Ok) return e;\n";
            out_ << "            auto p = params.root<" << pn << ">();\n";
            out_ << "            auto r = results.init_root<" << resn << ">();\n";
            out_ << "            if (results.error() != cap::capnp::Error::Ok) return results.error();\n";
            out_ << "            return impl." << ident(m.getName()) << "(p, r);\n";
            out_ << "        }\n";
        }
        out_ << "        default: return cap::capnp::Error::UnknownMethod;\n    }\n}\n\n";
    }

    sc::CodeGeneratorRequest::Reader req_;
    std::map<uint64_t, sc::Node::Reader> nodes_;
    std::map<uint64_t, std::string> names_;
    std::map<uint64_t, std::string> docs_;
    std::map<uint64_t, std::vector<std::string>> member_docs_;
    uint64_t file_id_ = 0;
    // capnp's StreamResult (/capnp/stream.capnp), the results of `-> stream`.
    static constexpr uint64_t kStreamResultId = 0x995f9a3377c0b16eull;
    std::ostringstream out_;
    std::ostringstream defs_;
};

}  // namespace

int main() {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 1ull << 30;
    options.nestingLimit = 128;
    capnp::StreamFdMessageReader reader(0, options);
    auto req = reader.getRoot<capnp::schema::CodeGeneratorRequest>();
    Generator gen(req);
    for (auto file : req.getRequestedFiles()) gen.generate(file);
    return 0;
}
