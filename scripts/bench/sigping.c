/*
 * Signal-forwarding latency through an init (scripts/bench/signals.sh).
 *
 *   sigping child FIFO
 *       Run as the init's child. Blocks SIGUSR1/SIGTERM, opens FIFO for
 *       writing, then for every SIGUSR1 (sigwaitinfo) writes the CLOCK_MONOTONIC
 *       time of its arrival (8 bytes) to FIFO. Exits 0 on SIGTERM.
 *   sigping send PID FIFO N [GAP_US]
 *       Opens FIFO for reading and sends SIGUSR1 to PID (the init) N times,
 *       each once the previous one has arrived at the child and GAP_US (default
 *       300) µs later, so the init is idle in its wait for every signal. Prints
 *       "p50 p99 min max" of the kill-to-arrival latency in µs.
 *
 * CLOCK_MONOTONIC is one clock for every PID namespace, so the host-side
 * sender and the child in the namespace compare the same timestamps.
 * Built with `cc -O2` by scripts/bench/lib.sh (helpers).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int child(const char *fifo) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = open(fifo, O_WRONLY);
    if (fd < 0) { perror("sigping child: open"); return 1; }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0) { if (errno == EINTR) continue; return 1; }
        if (sig == SIGTERM) return 0;
        uint64_t t = now_ns();
        if (write(fd, &t, sizeof t) != sizeof t) return 1;
    }
}

static int sender(pid_t pid, const char *fifo, long n, long gap_us) {
    int fd = open(fifo, O_RDONLY);
    if (fd < 0) { perror("sigping send: open"); return 1; }
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    if (!lat) return 1;
    struct timespec gap = { 0, gap_us * 1000 };
    for (long i = 0; i < n; i++) {
        nanosleep(&gap, NULL);
        uint64_t t0 = now_ns(), t1;
        if (kill(pid, SIGUSR1) < 0) { perror("sigping send: kill"); return 1; }
        ssize_t r = read(fd, &t1, sizeof t1);
        if (r != sizeof t1) { fprintf(stderr, "sigping send: child went away after %ld\n", i); return 1; }
        lat[i] = t1 - t0;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    printf("%.1f %.1f %.1f %.1f\n", lat[n / 2] / 1e3, lat[(n * 99) / 100] / 1e3, lat[0] / 1e3, lat[n - 1] / 1e3);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "child") == 0) return child(argv[2]);
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0)
        return sender(atoi(argv[2]), argv[3], atol(argv[4]), argc == 6 ? atol(argv[5]) : 300);
    fprintf(stderr, "usage: sigping child FIFO | sigping send PID FIFO N [GAP_US]\n");
    return 2;
}
