/*
 * The "application" of the scratch-image scenario: a static binary with no
 * shell behind it, so the rootfs holds nothing but /podinit and /app.
 *
 *   app serve PORT DELAY_MS TERMFILE
 *       sleep DELAY_MS (a slow-starting server, so the waiter has to wait),
 *       listen on 127.0.0.1:PORT, answer every connection with one line
 *       naming $POD_NAME and $CONTAINER_NAME; on SIGTERM write TERMFILE, exit 0.
 *   app get PORT OUTFILE
 *       connect once, copy the answer plus our own identity into OUTFILE.
 *
 * Built with `cc -static` by scripts/e2e.sh.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *termfile;

static const char *env(const char *k) { const char *v = getenv(k); return v ? v : "(unset)"; }

static void on_term(int sig) {
    (void)sig;
    int fd = open(termfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "term\n", 5); close(fd); }
    _exit(0);
}

static struct sockaddr_in loopback(const char *port) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int serve(const char *port, const char *delay_ms, const char *tf) {
    termfile = tf;
    signal(SIGTERM, on_term);
    long ms = atol(delay_ms);
    struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&d, NULL);

    struct sockaddr_in a = loopback(port);
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0) {
        perror("app serve");
        return 1;
    }
    char line[256];
    int n = snprintf(line, sizeof line, "served-by %s/%s\n", env("POD_NAME"), env("CONTAINER_NAME"));
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        write(c, line, n);
        close(c);
    }
}

static int get(const char *port, const char *out) {
    struct sockaddr_in a = loopback(port);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("app get");
        return 1;
    }
    char buf[512];
    ssize_t n = read(s, buf, sizeof buf);
    FILE *f = fopen(out, "w");
    if (n <= 0 || !f) return 1;
    fwrite(buf, 1, n, f);
    fprintf(f, "client %s/%s\n", env("POD_NAME"), env("CONTAINER_NAME"));
    return fclose(f) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "serve")) return serve(argv[2], argv[3], argv[4]);
    if (argc == 4 && !strcmp(argv[1], "get")) return get(argv[2], argv[3]);
    fprintf(stderr, "usage: app serve PORT DELAY_MS TERMFILE | app get PORT OUTFILE\n");
    return 2;
}
