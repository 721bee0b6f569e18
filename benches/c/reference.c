/*
 * The hardware reference for `bankrace bench`: the same operations, written
 * in plain C with no framework, so that bankrace's numbers can be compared
 * with what the machine can do, side by side in one run.
 *
 * N worker processes (fork, no exec) share one 64-bit balance in a
 * MAP_SHARED mapping. They wait at a start barrier, then each deposits 1,
 * OPS times, in one of these modes (the same as bankrace's):
 *
 *   nolock   relaxed atomic load, then relaxed atomic store (updates get lost)
 *   mutex    a robust, process-shared pthread mutex around load and store
 *   flock    flock(2) on a file each worker opened itself, around load and store
 *   spin     a compare-and-swap spin lock (64 spins, then sched_yield)
 *   atomic   one relaxed atomic fetch_add
 *
 * Throughput is every operation over the time from the first worker passing
 * the barrier to the last one finishing: the definition bankrace uses.
 * `spawn` times starting N processes of a program with posix_spawn and
 * reaping them all, per batch.
 *
 * Build: gcc -O2 -pthread -o reference benches/c/reference.c
 * Usage: reference [-w WORKERS] [-n OPS] [-r REPETITIONS] [-s BATCHES -x PROGRAM [-a ARG]]
 * Prints one JSON object per line: {"mode", "ops_per_sec", "lost"} per
 * repetition and mode, and {"spawn_us"} per repetition if -x is given.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_WORKERS 64

struct shared {
    _Alignas(64) _Atomic int64_t balance;
    _Alignas(64) _Atomic uint32_t spin;
    _Alignas(64) _Atomic uint32_t arrived;
    _Alignas(64) pthread_mutex_t mutex;
    _Alignas(64) _Atomic uint64_t started[MAX_WORKERS];
    _Atomic uint64_t finished[MAX_WORKERS];
};

enum mode { NOLOCK, MUTEX, FLOCK, SPIN, ATOMIC, MODES };
static const char *NAMES[MODES] = {"no lock", "mutex", "flock", "spin", "atomic"};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void load_store(struct shared *s) {
    int64_t seen = atomic_load_explicit(&s->balance, memory_order_relaxed);
    atomic_store_explicit(&s->balance, seen + 1, memory_order_relaxed);
}

static void worker(struct shared *s, int index, int workers, long ops, enum mode mode,
                   const char *path) {
    int fd = -1;
    if (mode == FLOCK && (fd = open(path, O_RDWR)) < 0) die("open");
    atomic_fetch_add(&s->arrived, 1);
    while (atomic_load(&s->arrived) < (uint32_t)workers) sched_yield();
    atomic_store_explicit(&s->started[index], now_ns(), memory_order_relaxed);
    for (long i = 0; i < ops; i++) {
        switch (mode) {
        case NOLOCK:
            load_store(s);
            break;
        case ATOMIC:
            atomic_fetch_add_explicit(&s->balance, 1, memory_order_relaxed);
            break;
        case MUTEX: {
            int rc = pthread_mutex_lock(&s->mutex);
            if (rc == EOWNERDEAD) pthread_mutex_consistent(&s->mutex);
            else if (rc != 0) exit(1);
            load_store(s);
            pthread_mutex_unlock(&s->mutex);
            break;
        }
        case FLOCK:
            while (flock(fd, LOCK_EX) != 0)
                if (errno != EINTR) die("flock");
            load_store(s);
            flock(fd, LOCK_UN);
            break;
        case SPIN: {
            int spins = 0;
            uint32_t free_word = 0;
            while (!atomic_compare_exchange_weak_explicit(&s->spin, &free_word, 1,
                                                          memory_order_acquire,
                                                          memory_order_relaxed)) {
                free_word = 0;
                while (atomic_load_explicit(&s->spin, memory_order_relaxed) != 0) {
                    if (spins < 64) {
                        spins++;
                        __builtin_ia32_pause();
                    } else {
                        sched_yield();
                    }
                }
            }
            load_store(s);
            atomic_store_explicit(&s->spin, 0, memory_order_release);
            break;
        }
        default:
            exit(1);
        }
    }
    atomic_store_explicit(&s->finished[index], now_ns(), memory_order_relaxed);
    _exit(0);
}

static void trial(struct shared *s, int workers, long ops, enum mode mode, const char *path) {
    atomic_store(&s->balance, 0);
    atomic_store(&s->spin, 0);
    atomic_store(&s->arrived, 0);
    pid_t pids[MAX_WORKERS];
    for (int i = 0; i < workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0) die("fork");
        if (pids[i] == 0) worker(s, i, workers, ops, mode, path);
    }
    for (int i = 0; i < workers; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "reference: a %s worker failed\n", NAMES[mode]);
            exit(1);
        }
    }
    uint64_t first = UINT64_MAX, last = 0;
    for (int i = 0; i < workers; i++) {
        if (s->started[i] < first) first = s->started[i];
        if (s->finished[i] > last) last = s->finished[i];
    }
    double total = (double)workers * (double)ops;
    double secs = (double)(last - first) / 1e9;
    double lost = (total - (double)atomic_load(&s->balance)) / total;
    printf("{\"mode\": \"%s\", \"ops_per_sec\": %.0f, \"lost\": %.6f}\n", NAMES[mode],
           secs > 0 ? total / secs : 0.0, lost);
    fflush(stdout);
}

/* Starts `workers` processes of argv with posix_spawn, reaps them all, `batches` times. */
static void spawns(int workers, int batches, char **argv) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    uint64_t start = now_ns();
    for (int b = 0; b < batches; b++) {
        pid_t pids[MAX_WORKERS];
        for (int i = 0; i < workers; i++)
            if (posix_spawn(&pids[i], argv[0], &actions, NULL, argv, environ) != 0)
                die("posix_spawn");
        for (int i = 0; i < workers; i++) {
            int status;
            if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
                die("spawned program");
        }
    }
    double us = (double)(now_ns() - start) / 1e3 / batches;
    printf("{\"spawn_us\": %.1f}\n", us);
    fflush(stdout);
    posix_spawn_file_actions_destroy(&actions);
}

int main(int argc, char **argv) {
    int workers = 2, reps = 5, batches = 50, opt;
    long ops = 1000000;
    char *program[3] = {NULL, NULL, NULL};
    while ((opt = getopt(argc, argv, "w:n:r:s:x:a:")) != -1) {
        switch (opt) {
        case 'w': workers = atoi(optarg); break;
        case 'n': ops = atol(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 's': batches = atoi(optarg); break;
        case 'x': program[0] = optarg; break;
        case 'a': program[1] = optarg; break;
        default:
            fprintf(stderr, "usage: reference [-w WORKERS] [-n OPS] [-r REPS] [-s BATCHES -x PROGRAM [-a ARG]]\n");
            return 2;
        }
    }
    if (optind < argc || workers < 1 || workers > MAX_WORKERS || ops < 1 || reps < 1 || batches < 1) {
        fprintf(stderr, "reference: -w 1..%d, -n, -r and -s at least 1\n", MAX_WORKERS);
        return 2;
    }

    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) die("mmap");
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (pthread_mutex_init(&s->mutex, &attr) != 0) die("pthread_mutex_init");

    char path[] = "/tmp/reference-flock-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) die("mkstemp");
    close(fd);

    for (int r = 0; r < reps; r++) {
        for (int m = 0; m < MODES; m++) trial(s, workers, ops, (enum mode)m, path);
        if (program[0]) spawns(workers, batches, program);
    }
    unlink(path);
    return 0;
}
