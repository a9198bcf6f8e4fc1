// benchmarks/linux/init.cpp — /init of the Linux baseline initramfs: run the requested cases, power off.
//
// Reads its instructions from the kernel command line (dotted parameters are
// not passed to init, so it mounts /proc and reads /proc/cmdline):
//   capos.bench=process|thread|all   which workload(s) (default all)
//   capos.bench=micro                the micro-benchmarks (/bin/micro-bench, ninja benchmark-micro)
//   capos.workers=N                  workers/threads (default: online CPUs)
//   capos.runs=R                     repetitions inside this boot (default 1)
//   capos.hi=H  capos.blocks=B       smaller shapes for functional tests
//   capos.detail=1                   also print per-worker cycles ([linux-detail])
//   capos.bench=shares               workload "shares" (/bin/shares-bench, harness/run policies), with
//   capos.variant=threads|procs|all  capos.window_ms=N  (capos.runs as above)
//   capos.bench=wakeup               workload "wakeup" (/bin/wakeup-bench), with capos.window_ms=N
//   capos.bench=imbalance            workload "imbalance" (/bin/imbalance-bench), capos.runs as above
//   capos.bench=consolidation        workload "consolidation" (/bin/consolidation-bench), with capos.window_ms=N
// Prints an [smp-env] line, runs /bin/smp-process-scale and/or
// /bin/smp-thread-scale (output goes straight to /dev/console = ttyS0),
// prints "[linux-init] done status=<ok|fail>" and powers the VM off.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux_common.h"
#include "result_line.h"

namespace {

using namespace bench::linux_baseline;

// Value of "key=" on the command line copied into out ("" if absent).
void cmdline_value(const char* cmdline, const char* key, char* out, size_t cap) {
    out[0] = '\0';
    const size_t klen = strlen(key);
    const char* p = cmdline;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\n') {
            ++p;
        }
        const char* tok = p;
        while (*p != '\0' && *p != ' ' && *p != '\n') {
            ++p;
        }
        if (static_cast<size_t>(p - tok) > klen && strncmp(tok, key, klen) == 0 && tok[klen] == '=') {
            size_t n = static_cast<size_t>(p - tok) - klen - 1;
            if (n >= cap) {
                n = cap - 1;
            }
            memcpy(out, tok + klen + 1, n);
            out[n] = '\0';
        }
    }
}

bool run_program(const char* path, char* const argv[]) {
    const pid_t pid = fork();
    if (pid == 0) {
        execv(path, argv);
        fprintf(stderr, "[linux-init] error=exec path=%s\n", path);
        _exit(127);
    }
    if (pid < 0) {
        return false;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {}
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

[[noreturn]] void power_off(bool ok) {
    char line[64];
    snprintf(line, sizeof(line), "[linux-init] done status=%s", ok ? "ok" : "fail");
    emit_line(line);
    sync();
    reboot(RB_POWER_OFF);
    for (;;) {
        pause();
    }
}

}  // namespace

int main() {
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, nullptr);
    if (open("/dev/console", O_RDWR) < 0) {
        // stdio is already the console when the kernel found /dev/console.
    }
    char cmdline[4096] = {};
    const int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        const ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
        cmdline[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    char bench_sel[32];
    char workers[16];
    char runs[16];
    char hi[16];
    char blocks[16];
    char detail[8];
    char paired[16];
    cmdline_value(cmdline, "capos.detail", detail, sizeof(detail));
    cmdline_value(cmdline, "capos.paired", paired, sizeof(paired));
    cmdline_value(cmdline, "capos.bench", bench_sel, sizeof(bench_sel));
    cmdline_value(cmdline, "capos.workers", workers, sizeof(workers));
    cmdline_value(cmdline, "capos.runs", runs, sizeof(runs));
    cmdline_value(cmdline, "capos.hi", hi, sizeof(hi));
    cmdline_value(cmdline, "capos.blocks", blocks, sizeof(blocks));
    if (bench_sel[0] == '\0') {
        strcpy(bench_sel, "all");
    }
    if (workers[0] == '\0') {
        snprintf(workers, sizeof(workers), "%u", online_cpus());
    }
    if (runs[0] == '\0') {
        strcpy(runs, "1");
    }
    if (paired[0] == '\0') {
        strcpy(paired, "0");
    }

    char line[bench::kResultLineMax];
    bench::format_env_line(line, sizeof(line), "linux", online_cpus(), measure_tsc_hz());
    emit_line(line);

    const bool want_process = strcmp(bench_sel, "process") == 0 || strcmp(bench_sel, "all") == 0;
    const bool want_thread = strcmp(bench_sel, "thread") == 0 || strcmp(bench_sel, "all") == 0;
    const bool want_micro = strcmp(bench_sel, "micro") == 0;
    const bool want_shares = strcmp(bench_sel, "shares") == 0;
    const bool want_wakeup = strcmp(bench_sel, "wakeup") == 0;
    const bool want_imbalance = strcmp(bench_sel, "imbalance") == 0;
    const bool want_consolidation = strcmp(bench_sel, "consolidation") == 0;
    bool ok =
        want_process || want_thread || want_micro || want_shares || want_wakeup || want_imbalance || want_consolidation;
    if (want_imbalance) {
        char a_runs[32];
        snprintf(a_runs, sizeof(a_runs), "--runs=%s", runs);
        char* argv[] = {const_cast<char*>("imbalance-bench"), a_runs, nullptr};
        ok = run_program("/bin/imbalance-bench", argv) && ok;
    }
    if (want_consolidation) {
        char window_ms[16];
        cmdline_value(cmdline, "capos.window_ms", window_ms, sizeof(window_ms));
        char a_window[32];
        snprintf(a_window, sizeof(a_window), "--window-ms=%s", window_ms[0] != '\0' ? window_ms : "4000");
        char* argv[] = {const_cast<char*>("consolidation-bench"), a_window, nullptr};
        ok = run_program("/bin/consolidation-bench", argv) && ok;
    }
    if (want_wakeup) {
        char window_ms[16];
        cmdline_value(cmdline, "capos.window_ms", window_ms, sizeof(window_ms));
        char a_window[32];
        snprintf(a_window, sizeof(a_window), "--window-ms=%s", window_ms[0] != '\0' ? window_ms : "4000");
        char* argv[] = {const_cast<char*>("wakeup-bench"), a_window, nullptr};
        ok = run_program("/bin/wakeup-bench", argv) && ok;
    }
    if (want_shares) {
        char variant[16];
        char window_ms[16];
        cmdline_value(cmdline, "capos.variant", variant, sizeof(variant));
        cmdline_value(cmdline, "capos.window_ms", window_ms, sizeof(window_ms));
        char a_variant[32];
        char a_window[32];
        char a_runs[32];
        snprintf(a_variant, sizeof(a_variant), "--variant=%s", variant[0] != '\0' ? variant : "all");
        snprintf(a_window, sizeof(a_window), "--window-ms=%s", window_ms[0] != '\0' ? window_ms : "4000");
        snprintf(a_runs, sizeof(a_runs), "--runs=%s", runs);
        char* argv[] = {const_cast<char*>("shares-bench"), a_variant, a_window, a_runs, nullptr};
        ok = run_program("/bin/shares-bench", argv) && ok;
    }
    if (want_micro) {
        char* argv[] = {const_cast<char*>("micro-bench"), nullptr};
        ok = run_program("/bin/micro-bench", argv) && ok;
    }
    if (!ok) {
        emit_line("[linux-init] error=unknown-bench");
    }
    if (want_process) {
        char a_workers[32];
        char a_runs[32];
        char a_hi[32];
        snprintf(a_workers, sizeof(a_workers), "--workers=%s", workers);
        snprintf(a_runs, sizeof(a_runs), "--runs=%s", runs);
        snprintf(a_hi, sizeof(a_hi), "--hi=%s", hi);
        char a_detail[32];
        snprintf(a_detail, sizeof(a_detail), "--detail=%s", detail[0] != '\0' ? detail : "0");
        char a_paired[32];
        snprintf(a_paired, sizeof(a_paired), "--paired=%s", paired);
        char* argv[] = {const_cast<char*>("smp-process-scale"), a_workers, a_runs, a_paired, a_detail,
                        hi[0] != '\0' ? a_hi : nullptr,         nullptr};
        ok = run_program("/bin/smp-process-scale", argv) && ok;
    }
    if (want_thread) {
        char a_threads[32];
        char a_runs[32];
        char a_blocks[32];
        snprintf(a_threads, sizeof(a_threads), "--threads=%s", workers);
        snprintf(a_runs, sizeof(a_runs), "--runs=%s", runs);
        snprintf(a_blocks, sizeof(a_blocks), "--blocks=%s", blocks);
        char a_detail[32];
        snprintf(a_detail, sizeof(a_detail), "--detail=%s", detail[0] != '\0' ? detail : "0");
        char a_paired[32];
        snprintf(a_paired, sizeof(a_paired), "--paired=%s", paired);
        char* argv[] = {const_cast<char*>("smp-thread-scale"),  a_threads, a_runs, a_paired, a_detail,
                        blocks[0] != '\0' ? a_blocks : nullptr, nullptr};
        ok = run_program("/bin/smp-thread-scale", argv) && ok;
    }
    power_off(ok);
}
