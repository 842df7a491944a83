/*
 * Orphan reaping cost of an init (scripts/bench/orphans.sh).
 *
 *   orphans N ROUNDS CTL ACK [GAP_US]
 *       Run as the init's main child. For each of ROUNDS rounds a middle
 *       process forks N children and exits, so the N children are re-parented
 *       to the init; then "R" goes to the FIFO ACK, and the orphans exit on a
 *       byte from the FIFO CTL:
 *       - without GAP_US (burst), the N children have already exited and wait
 *         as zombies (the middle does not reap them): they reach the init all
 *         at once when the middle exits, on the byte from CTL;
 *       - with GAP_US (trickle), the N children block reading a pipe and exit
 *         one at a time as the main child writes one byte per GAP_US µs, so
 *         every exit is a wake-up of its own for the init.
 *       When every orphan is gone (kill(pid, 0) fails with ESRCH: reaped, not
 *       just a zombie) "D" goes to ACK. Exits 0 after the last round, once CTL
 *       is closed.
 *
 * The bench reads the init's CPU time (/proc/PID/schedstat) between the byte
 * on CTL and "D": the cost of the reaping alone, not of creating the processes.
 * Built with `cc -O2` by scripts/bench/lib.sh (helpers).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_us(long us) {
    struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&t, NULL);
}

static int round_of(long n, long gap_us, int ctl, int ack) {
    int gate[2], pids[2], go[2];
    if (pipe(gate) < 0 || pipe(pids) < 0 || pipe(go) < 0) return 1;
    pid_t mid = fork();
    if (mid < 0) return 1;
    if (mid == 0) {
        close(pids[0]);
        close(go[1]);
        for (long i = 0; i < n; i++) {
            pid_t c = fork();
            if (c < 0) _exit(1);
            if (c == 0) {
                char b;
                if (gap_us > 0)
                    while (read(gate[0], &b, 1) < 0 && errno == EINTR) {}
                _exit(0);
            }
            if (write(pids[1], &c, sizeof c) != sizeof c) _exit(1);
        }
        if (gap_us == 0) {
            /* Burst: let every child become a zombie, without reaping it. */
            for (long i = 0; i < n; i++) {
                siginfo_t si;
                if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0 && errno != EINTR) _exit(1);
            }
        }
        close(pids[1]);
        char b;
        if (gap_us == 0)
            while (read(go[0], &b, 1) < 0 && errno == EINTR) {}
        _exit(0);
    }
    close(gate[0]);
    close(pids[1]);
    close(go[0]);
    pid_t *all = calloc((size_t)n, sizeof *all);
    if (!all) return 1;
    long got = 0;
    for (;;) {
        ssize_t r = read(pids[0], (char *)all + got, (size_t)n * sizeof *all - (size_t)got);
        if (r <= 0) break;
        got += r;
    }
    close(pids[0]);
    if (got != n * (long)sizeof *all) { fprintf(stderr, "orphans: setup failed\n"); return 1; }
    if (gap_us > 0) {
        int st;
        waitpid(mid, &st, 0);
    }
    char b;
    if (write(ack, "R", 1) != 1 || read(ctl, &b, 1) != 1) return 1;
    if (gap_us == 0) {
        close(go[1]);
        int st;
        waitpid(mid, &st, 0);
    } else {
        for (long i = 0; i < n; i++) {
            if (write(gate[1], "x", 1) != 1) return 1;
            sleep_us(gap_us);
        }
    }
    close(gate[1]);
    long left = n;
    while (left > 0) {
        sleep_us(500);
        for (long i = 0; i < left;) {
            if (kill(all[i], 0) < 0 && errno == ESRCH) all[i] = all[--left];
            else i++;
        }
    }
    free(all);
    return write(ack, "D", 1) == 1 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) { fprintf(stderr, "usage: orphans N ROUNDS CTL ACK [GAP_US]\n"); return 2; }
    long n = atol(argv[1]), rounds = atol(argv[2]), gap = argc == 6 ? atol(argv[5]) : 0;
    int ctl = open(argv[3], O_RDONLY);
    int ack = open(argv[4], O_WRONLY);
    if (ctl < 0 || ack < 0) { perror("orphans: open"); return 1; }
    for (long r = 0; r < rounds; r++)
        if (round_of(n, gap, ctl, ack) != 0) return 1;
    /* Stay until the bench has read the init's CPU time of the last round. */
    char b;
    while (read(ctl, &b, 1) > 0) {}
    return 0;
}
