/* Helper for tests/integration/test_hardening.sh, built by the suite with cc.
 *
 *   hardening storm-child MS CODE   ignore every catchable signal, sleep MS ms, exit CODE
 *   hardening storm PID COUNT US    send COUNT mixed signals to PID, spread over about US
 *                                   microseconds; stops early when PID is gone; prints how
 *                                   many kill(2) calls succeeded
 *   hardening inspect FILE [MS]     write what a child inherited to FILE: open fds, the
 *                                   signal mask and dispositions, PR_GET_PDEATHSIG, ids,
 *                                   the environment (written to FILE.tmp, then renamed);
 *                                   then sleep MS ms; exit 0
 *   hardening clean-exec CMD ARG...  close every fd above 2, then exec CMD
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int storm_child(long ms, int code) {
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        signal(s, SIG_IGN);
    }
    sleep_us(ms * 1000);
    return code;
}

static int storm(pid_t pid, long count, long span_us) {
    int mix[64], n = 0;
    int std[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, SIGURG, SIGPIPE,
                 SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGQUIT};
    for (unsigned i = 0; i < sizeof std / sizeof std[0]; i++) mix[n++] = std[i];
    for (int s = SIGRTMIN; s <= SIGRTMAX && n < 64; s += 3) mix[n++] = s;
    long sent = 0;
    const long batch = 100;
    long pause = count > batch ? span_us / (count / batch) : 0;
    for (long i = 0; i < count; i++) {
        if (kill(pid, mix[i % n]) == 0) sent++;
        else if (errno == ESRCH) break;
        /* EAGAIN: the real-time queue is full; keep going with the rest of the mix. */
        if (pause && i % batch == batch - 1) sleep_us(pause);
    }
    printf("%ld\n", sent);
    return 0;
}

static int inspect(const char *path, long ms) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "we");
    if (!out) { perror(path); return 1; }
    int own = fileno(out);
    /* fds, read with getdents so that nothing but the DIR's own fd is added. */
    DIR *d = opendir("/proc/self/fd");
    int dfd = d ? dirfd(d) : -1;
    fprintf(out, "fds:");
    struct dirent *e;
    int fds[1024], nfds = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd == dfd || fd == own) continue;
        if (nfds < 1024) fds[nfds++] = fd;
    }
    if (d) closedir(d);
    for (int i = 0; i < nfds; i++)
        for (int j = i + 1; j < nfds; j++)
            if (fds[j] < fds[i]) { int t = fds[i]; fds[i] = fds[j]; fds[j] = t; }
    for (int i = 0; i < nfds; i++) fprintf(out, " %d", fds[i]);
    fprintf(out, "\n");
    for (int i = 0; i < nfds; i++) {
        char l[64], target[512];
        snprintf(l, sizeof l, "/proc/self/fd/%d", fds[i]);
        ssize_t k = readlink(l, target, sizeof target - 1);
        target[k < 0 ? 0 : k] = 0;
        fprintf(out, "fd %d -> %s\n", fds[i], target);
    }
    FILE *st = fopen("/proc/self/status", "re");
    char line[4096];
    while (st && fgets(line, sizeof line, st)) {
        if (!strncmp(line, "Sig", 3) || !strncmp(line, "Shd", 3) || !strncmp(line, "Uid:", 4) ||
            !strncmp(line, "Gid:", 4) || !strncmp(line, "Groups:", 7) || !strncmp(line, "NoNewPrivs:", 11))
            fputs(line, out);
    }
    if (st) fclose(st);
    int pd = -1;
    prctl(PR_GET_PDEATHSIG, &pd, 0, 0, 0);
    fprintf(out, "PdeathSig:\t%d\n", pd);
    fprintf(out, "umask:\t%04o\n", (unsigned)umask(0));
    for (char **v = environ; *v; v++) fprintf(out, "env %s\n", *v);
    fprintf(out, "end\n");
    if (fclose(out) != 0 || rename(tmp, path) != 0) return 1;
    sleep_us(ms * 1000);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "storm-child")) return storm_child(atol(argv[2]), atoi(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "storm")) return storm(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "inspect")) return inspect(argv[2], argc == 4 ? atol(argv[3]) : 0);
    if (argc >= 3 && !strcmp(argv[1], "clean-exec")) {
        for (int fd = 3; fd < 65536; fd++) close(fd);
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        return 127;
    }
    fprintf(stderr, "usage: hardening storm-child MS CODE | storm PID COUNT US | inspect FILE\n");
    return 2;
}
