// manifest.cpp - parsing the BootManifest into init's tables, and validating it.
#include "manifest.h"

#include "capos/schema/manifest.capnp.h"
#include <stdarg.h>

#include "capos/fmt/format.h"

namespace init {

namespace sc = cap::schema;

const char* kernel_cap_name(uint16_t k) {
    using K = sc::KernelCap;
    switch (static_cast<K>(k)) {
        case K::Console:
            return "console";
        case K::Timer:
            return "timer";
        case K::Park:
            return "park";
        case K::SchedulerControl:
            return "schedulerControl";
        case K::ProcessSpawner:
            return "processSpawner";
        case K::BootInfo:
            return "bootInfo";
        case K::KernelStats:
            return "kernelStats";
    }
    return "unknown";
}

const char* error_name(ManifestError e) {
    switch (e) {
        case ManifestError::none:
            return "ok";
        case ManifestError::malformed:
            return "malformed manifest";
        case ManifestError::bad_version:
            return "bad version";
        case ManifestError::duplicate_entry:
            return "duplicate entry";
        case ManifestError::unknown_module:
            return "unknown module";
        case ManifestError::missing_capability:
            return "missing capability";
        case ManifestError::unknown_dependency:
            return "unknown dependency";
        case ManifestError::dependency_cycle:
            return "dependency cycle";
        case ManifestError::bad_quota:
            return "bad quota";
        case ManifestError::bad_channel:
            return "bad channel";
    }
    return "error";
}

namespace {

// String helpers of its own: this file is also built hosted for the unit test.
uint32_t text_len(const char* s) {
    uint32_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

bool same(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

ManifestError refuse(Refusal& why, ManifestError e, const char* entry, const char* fmt, ...) {
    why.error = e;
    uint32_t i = 0;
    for (; entry != nullptr && entry[i] != '\0' && i + 1 < sizeof why.entry; ++i) why.entry[i] = entry[i];
    why.entry[i] = '\0';
    va_list ap;
    va_start(ap, fmt);
    (void)capos::fmt::vsnformat(why.detail, sizeof why.detail, fmt, ap);
    va_end(ap);
    return e;
}

// Copies text t into out[cap]; false if it does not fit.
bool copy_text(const cap::capnp::Text::Reader& t, char* out, uint32_t cap) {
    if (t.size() + 1 > cap) return false;
    __builtin_memcpy(out, t.c_str(), t.size());
    out[t.size()] = '\0';
    return true;
}

void read_quotas(const sc::Quotas_Reader& q, srv::Quotas& out) {
    out.frames = q.frames();
    out.cap_slots = q.cap_slots();
    out.threads = q.threads();
    out.outstanding_calls = q.outstanding_calls();
    out.children = q.children();
}

bool lists_export(const Entry& e, const char* name) {
    for (uint32_t i = 0; i < e.nexports; ++i)
        if (same(e.exports[i], name)) return true;
    return false;
}

ManifestError check_quotas(const srv::Quotas& q, const char* entry, const char* what, Refusal& why) {
    if (q.frames > kMaxFrames)
        return refuse(why, ManifestError::bad_quota, entry, "%s frames=%llu above %llu", what,
                      static_cast<unsigned long long>(q.frames), static_cast<unsigned long long>(kMaxFrames));
    if (q.cap_slots > kMaxSlots)
        return refuse(why, ManifestError::bad_quota, entry, "%s capSlots=%u above %u", what, q.cap_slots, kMaxSlots);
    if (q.cap_slots != 0 && q.cap_slots < 16)
        return refuse(why, ManifestError::bad_quota, entry, "%s capSlots=%u below 16 (start-up needs them)", what,
                      q.cap_slots);
    if (q.threads > kMaxThreads)
        return refuse(why, ManifestError::bad_quota, entry, "%s threads=%u above %u", what, q.threads, kMaxThreads);
    if (q.outstanding_calls > kMaxCalls)
        return refuse(why, ManifestError::bad_quota, entry, "%s outstandingCalls=%u above %u", what,
                      q.outstanding_calls, kMaxCalls);
    if (q.children > kMaxChildren)
        return refuse(why, ManifestError::bad_quota, entry, "%s children=%u above %u", what, q.children, kMaxChildren);
    if (q.frames != 0 && q.frames < 128)
        return refuse(why, ManifestError::bad_quota, entry, "%s frames=%llu below 128 (image, stack and ring)", what,
                      static_cast<unsigned long long>(q.frames));
    return ManifestError::none;
}

}  // namespace

int find_entry(const Manifest& m, const char* name) {
    for (uint32_t i = 0; i < m.count; ++i)
        if (same(m.entries[i].name, name)) return static_cast<int>(i);
    return -1;
}

ManifestError parse(const void* bytes, size_t len, Manifest& m, Refusal& why) {
    cap::capnp::FlatMessageReader<16> msg;
    if (msg.init_flat(bytes, len) != cap::capnp::Error::Ok || msg.validate() != cap::capnp::Error::Ok)
        return refuse(why, ManifestError::malformed, "", "not a valid Cap'n Proto message (%u bytes)",
                      static_cast<unsigned>(len));
    auto root = msg.root<sc::BootManifest>();
    m.version = root.version();
    read_quotas(root.default_quotas(), m.defaults);
    auto mods = root.modules();
    if (mods.size() > kMaxEntries)
        return refuse(why, ManifestError::malformed, "", "%u modules, init handles at most %u", mods.size(),
                      kMaxEntries);
    m.count = mods.size();
    for (uint32_t i = 0; i < m.count; ++i) {
        auto r = mods[i];
        Entry& e = m.entries[i];
        if (!copy_text(r.name(), e.name, sizeof e.name) || e.name[0] == '\0')
            return refuse(why, ManifestError::malformed, r.name().c_str(), "entry %u: name empty or longer than %u", i,
                          kNameMax - 1);
        const auto image = r.has_image() ? r.image() : r.name();
        if (!copy_text(image, e.image, sizeof e.image))
            return refuse(why, ManifestError::malformed, e.name, "image name longer than %u", kImageMax - 1);
        uint32_t al = 0;
        auto args = r.args();
        for (uint32_t k = 0; k < args.size(); ++k) {
            auto a = args[k];
            if (al + a.size() + 2 > sizeof e.args)
                return refuse(why, ManifestError::malformed, e.name, "arguments longer than %u bytes", kArgsMax - 1);
            if (al != 0) e.args[al++] = ' ';
            __builtin_memcpy(e.args + al, a.c_str(), a.size());
            al += a.size();
        }
        e.args[al] = '\0';
        auto caps = r.caps();
        if (caps.size() > kMaxCaps)
            return refuse(why, ManifestError::malformed, e.name, "%u capabilities, at most %u", caps.size(), kMaxCaps);
        e.ncaps = caps.size();
        for (uint32_t k = 0; k < e.ncaps; ++k) {
            auto c = caps[k];
            CapSpec& s = e.caps[k];
            if (!copy_text(c.name(), s.name, sizeof s.name) || s.name[0] == '\0')
                return refuse(why, ManifestError::malformed, e.name, "capability %u: name empty or longer than %u", k,
                              kCapNameMax - 1);
            s.rights = c.rights();
            s.kernel = c.is_kernel();
            s.channel = c.is_channel();
            s.serve = c.serve();
            if (s.kernel) {
                s.kcap = static_cast<uint16_t>(c.kernel());
            } else if (s.channel) {
                if (!copy_text(c.channel(), s.exp, sizeof s.exp) || s.exp[0] == '\0')
                    return refuse(why, ManifestError::malformed, e.name,
                                  "capability '%s': channel name empty or longer than %u", s.name, kCapNameMax - 1);
            } else {
                auto svc = c.service();
                if (!copy_text(svc.module(), s.module, sizeof s.module) ||
                    !copy_text(svc.export_(), s.exp, sizeof s.exp))
                    return refuse(why, ManifestError::malformed, e.name, "capability '%s': service name too long",
                                  s.name);
            }
        }
        auto exps = r.exports();
        if (exps.size() > kMaxExports)
            return refuse(why, ManifestError::malformed, e.name, "%u exports, at most %u", exps.size(), kMaxExports);
        e.nexports = exps.size();
        for (uint32_t k = 0; k < e.nexports; ++k)
            if (!copy_text(exps[k], e.exports[k], kCapNameMax) || e.exports[k][0] == '\0')
                return refuse(why, ManifestError::malformed, e.name, "export %u: name empty or too long", k);
        auto deps = r.depends_on();
        if (deps.size() > kMaxDeps)
            return refuse(why, ManifestError::malformed, e.name, "%u dependencies, at most %u", deps.size(), kMaxDeps);
        e.ndeps = deps.size();
        for (uint32_t k = 0; k < e.ndeps; ++k)
            if (!copy_text(deps[k], e.deps[k], kNameMax))
                return refuse(why, ManifestError::malformed, e.name, "dependency %u: name too long", k);
        read_quotas(r.quotas(), e.quotas);
        e.weight = r.placement_weight();
        e.restartable = r.restartable();
        e.max_restarts = r.max_restarts();
        e.start_after_ms = r.start_after_ms();
    }
    if (msg.error() != cap::capnp::Error::Ok)
        return refuse(why, ManifestError::malformed, "", "reading the message failed");
    return ManifestError::none;
}

// Names every channel (first use first) and checks each has exactly one
// serving end. Fills m.channels and each channel CapSpec's chan index.
static ManifestError index_channels(Manifest& m, Refusal& why) {
    m.nchannels = 0;
    uint32_t servers[kMaxChannels] = {};
    for (uint32_t i = 0; i < m.count; ++i) {
        Entry& e = m.entries[i];
        for (uint32_t k = 0; k < e.ncaps; ++k) {
            CapSpec& s = e.caps[k];
            if (!s.channel) continue;
            uint32_t c = 0;
            while (c < m.nchannels && !same(m.channels[c], s.exp)) ++c;
            if (c == m.nchannels) {
                if (m.nchannels == kMaxChannels)
                    return refuse(why, ManifestError::bad_channel, e.name, "channel '%s': more than %u channels", s.exp,
                                  kMaxChannels);
                __builtin_memcpy(m.channels[c], s.exp, sizeof m.channels[c]);
                ++m.nchannels;
            }
            s.chan = c;
            if (s.serve && ++servers[c] > 1)
                return refuse(why, ManifestError::bad_channel, e.name, "channel '%s': a second serving end", s.exp);
        }
    }
    for (uint32_t c = 0; c < m.nchannels; ++c)
        if (servers[c] == 0)
            return refuse(why, ManifestError::bad_channel, "", "channel '%s': no serving end", m.channels[c]);
    return ManifestError::none;
}

ManifestError validate(Manifest& m, const Environment& env, Refusal& why) {
    if (m.version != 1)
        return refuse(why, ManifestError::bad_version, "", "version %u, init reads version 1", m.version);
    if (auto e = check_quotas(m.defaults, "", "defaultQuotas", why); e != ManifestError::none) return e;
    // Entries one by one: names, modules, capabilities, quotas.
    for (uint32_t i = 0; i < m.count; ++i) {
        Entry& e = m.entries[i];
        for (uint32_t j = 0; j < i; ++j)
            if (same(m.entries[j].name, e.name))
                return refuse(why, ManifestError::duplicate_entry, e.name, "the name is used by entry %u too", j);
        if (!srv::module_listed(env.modules, e.image, text_len(e.image)))
            return refuse(why, ManifestError::unknown_module, e.name, "no boot module '%s'", e.image);
        for (uint32_t k = 0; k < e.ncaps; ++k) {
            const CapSpec& s = e.caps[k];
            if (same(s.name, "init"))
                return refuse(why, ManifestError::missing_capability, e.name,
                              "capability name 'init' is reserved for the registry of entries with exports");
            for (uint32_t j = 0; j < k; ++j)
                if (same(e.caps[j].name, s.name))
                    return refuse(why, ManifestError::malformed, e.name, "capability '%s' listed twice", s.name);
            if (s.serve && !s.channel)
                return refuse(why, ManifestError::bad_channel, e.name, "'%s': serve is for channel capabilities only",
                              s.name);
            if (s.kernel) {
                if (s.kcap >= static_cast<uint16_t>(KernelCap::count) || !env.kernel_caps[s.kcap])
                    return refuse(why, ManifestError::missing_capability, e.name,
                                  "'%s': init holds no kernel capability %s", s.name, kernel_cap_name(s.kcap));
                continue;
            }
            if (s.channel) continue;  // checked across entries below
            const int src = find_entry(m, s.module);
            if (src < 0)
                return refuse(why, ManifestError::missing_capability, e.name, "'%s': no entry '%s' exports '%s'",
                              s.name, s.module, s.exp);
            if (src == static_cast<int>(i))
                return refuse(why, ManifestError::dependency_cycle, e.name, "'%s': %s -> %s (uses its own export)",
                              s.name, e.name, e.name);
            if (!lists_export(m.entries[src], s.exp))
                return refuse(why, ManifestError::missing_capability, e.name, "'%s': entry '%s' exports no '%s'",
                              s.name, s.module, s.exp);
        }
        for (uint32_t k = 0; k < e.ndeps; ++k) {
            if (find_entry(m, e.deps[k]) < 0)
                return refuse(why, ManifestError::unknown_dependency, e.name, "dependsOn '%s': no such entry",
                              e.deps[k]);
        }
        if (auto r = check_quotas(e.quotas, e.name, "quotas", why); r != ManifestError::none) return r;
        if (e.weight == 0 || e.weight > kMaxWeight)
            return refuse(why, ManifestError::bad_quota, e.name, "placementWeight=%u outside 1..%u", e.weight,
                          kMaxWeight);
        if (e.restartable && e.max_restarts > kMaxRestartLimit)
            return refuse(why, ManifestError::bad_quota, e.name, "maxRestarts=%u above %u", e.max_restarts,
                          kMaxRestartLimit);
        if (e.start_after_ms > kMaxStartAfterMs)
            return refuse(why, ManifestError::bad_quota, e.name, "startAfterMs=%u above %u", e.start_after_ms,
                          kMaxStartAfterMs);
    }
    if (auto r = index_channels(m, why); r != ManifestError::none) return r;
    // Dependency graph: dependsOn plus every service capability (the exporter
    // must be running first). Depth-first search for a cycle, then a stable
    // topological order (the first ready entry in list order goes next).
    uint32_t dep[kMaxEntries][kMaxDeps + kMaxCaps];
    uint32_t ndep[kMaxEntries] = {};
    for (uint32_t i = 0; i < m.count; ++i) {
        const Entry& e = m.entries[i];
        for (uint32_t k = 0; k < e.ndeps; ++k) dep[i][ndep[i]++] = static_cast<uint32_t>(find_entry(m, e.deps[k]));
        for (uint32_t k = 0; k < e.ncaps; ++k)
            if (!e.caps[k].kernel && !e.caps[k].channel)
                dep[i][ndep[i]++] = static_cast<uint32_t>(find_entry(m, e.caps[k].module));
    }
    uint8_t color[kMaxEntries] = {};  // 0 white, 1 on the stack, 2 done
    uint32_t stack[kMaxEntries], next[kMaxEntries];
    for (uint32_t s = 0; s < m.count; ++s) {
        if (color[s] != 0) continue;
        uint32_t sp = 0;
        stack[sp] = s;
        next[sp] = 0;
        color[s] = 1;
        ++sp;
        while (sp > 0) {
            const uint32_t v = stack[sp - 1];
            if (next[sp - 1] == ndep[v]) {
                color[v] = 2;
                --sp;
                continue;
            }
            const uint32_t w = dep[v][next[sp - 1]++];
            if (color[w] == 2) continue;
            if (color[w] == 1) {
                // The cycle is w .. v on the stack, then back to w.
                char path[140];
                uint32_t pl = 0;
                uint32_t from = 0;
                while (stack[from] != w) ++from;
                for (uint32_t k = from; k < sp && pl + kNameMax + 8 < sizeof path; ++k)
                    pl += static_cast<uint32_t>(
                        capos::fmt::snformat(path + pl, sizeof path - pl, "%s -> ", m.entries[stack[k]].name));
                (void)capos::fmt::snformat(path + pl, sizeof path - pl, "%s", m.entries[w].name);
                return refuse(why, ManifestError::dependency_cycle, m.entries[w].name, "%s", path);
            }
            color[w] = 1;
            stack[sp] = w;
            next[sp] = 0;
            ++sp;
        }
    }
    bool placed[kMaxEntries] = {};
    for (uint32_t n = 0; n < m.count; ++n) {
        for (uint32_t i = 0; i < m.count; ++i) {
            if (placed[i]) continue;
            bool ready = true;
            for (uint32_t k = 0; k < ndep[i]; ++k) ready = ready && placed[dep[i][k]];
            if (!ready) continue;
            placed[i] = true;
            m.order[n] = i;
            break;
        }
    }
    return ManifestError::none;
}

ManifestError add_placement_args(Manifest& m, const char* csv, Refusal& why) {
    const int idx = find_entry(m, "placement");
    if (idx < 0)
        return refuse(why, ManifestError::unknown_dependency, "placement",
                      "placement=%s given, but the manifest has no entry named placement", csv);
    Entry& e = m.entries[idx];
    char out[kArgsMax];
    uint32_t n = 0;
    while (e.args[n] != '\0') {
        out[n] = e.args[n];
        ++n;
    }
    bool start = true;  // at the start of a pair
    for (const char* p = csv; *p != '\0'; ++p) {
        if (*p == ' ' || (*p == ',' && start))
            return refuse(why, ManifestError::malformed, e.name, "an empty pair or a space in placement=%s", csv);
        if (n + 2 >= kArgsMax)
            return refuse(why, ManifestError::malformed, e.name, "arguments longer than %u bytes with placement=%s",
                          kArgsMax - 1, csv);
        if (start && n != 0) out[n++] = ' ';
        start = *p == ',';
        if (!start) out[n++] = *p;
    }
    if (start && csv[0] != '\0')
        return refuse(why, ManifestError::malformed, e.name, "an empty pair in placement=%s", csv);
    out[n] = '\0';
    __builtin_memcpy(e.args, out, n + 1);
    return ManifestError::none;
}

}  // namespace init
