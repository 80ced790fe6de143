/* SPDX-License-Identifier: MIT */
/*
 * Storms over many seeds (--seeds N): each seed's storm in a process of
 * its own, as many at once as the machine has CPUs, its results back
 * through a temporary file; then, per policy and figure, the mean and a
 * 95% confidence interval (Student t, docs/storm.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storm.h"

#define GIB (1ULL << 18)

/* ========================================================================
 * Figures and intervals
 * ======================================================================== */

static const char *const figure_key[STORM_NR_FIGURES] = {
    "started", "started_gib", "demand_started_share", "failed_claim",
    "failed_build", "wasted_gib", "locality", "mean_distance",
    "single_node_share", "build_seconds", "latency_p50", "latency_p99",
    "replans",
};

const char *storm_figure_key(uint32_t i)
{
    return i < STORM_NR_FIGURES ? figure_key[i] : "?";
}

double storm_figure(const struct storm_result *r, uint32_t i)
{
    switch ( i )
    {
    case 0: return r->started;
    case 1: return (double)r->started_pages / GIB;
    case 2: return r->demand_pages ? (double)r->started_pages /
                                     r->demand_pages : 0;
    case 3: return r->failed_claim;
    case 4: return r->failed_build;
    case 5: return (double)r->wasted_pages / GIB;
    case 6: return r->locality;
    case 7: return r->mean_distance;
    case 8: return r->single_node_share;
    case 9: return r->build_seconds;
    case 10: return r->latency_p50;
    case 11: return r->latency_p99;
    case 12: return r->replans;
    default: return 0;
    }
}

double storm_round(double x)
{
    char buf[32];

    if ( !isfinite(x) || x == 0 )
        return x;
    snprintf(buf, sizeof(buf), "%.4g", x);
    return strtod(buf, NULL);
}

double storm_t975(uint32_t df)
{
    /* t(0.975, df) for df = 1..30, to 4 decimals. */
    static const double t[30] = {
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060,
        2.2622, 2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199,
        2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
        2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    };
    const double z = 1.959964;
    double n = df;

    if ( df == 0 )
        return 0;
    if ( df <= 30 )
        return t[df - 1];
    /* Above 30: the Cornish-Fisher expansion of t about the normal
     * quantile, within 1e-4 of the exact value from df = 30 on. */
    return z + (pow(z, 3) + z) / (4 * n) +
           (5 * pow(z, 5) + 16 * pow(z, 3) + 3 * z) / (96 * n * n);
}

void storm_ci95(const double *x, uint32_t n, struct storm_ci *ci)
{
    double sum = 0, ss = 0;

    memset(ci, 0, sizeof(*ci));
    if ( !n )
        return;
    for ( uint32_t i = 0; i < n; i++ )
        sum += x[i];
    ci->mean = sum / n;
    if ( n < 2 )
        return;
    for ( uint32_t i = 0; i < n; i++ )
        ss += (x[i] - ci->mean) * (x[i] - ci->mean);
    ci->sd = sqrt(ss / (n - 1));
    ci->half = storm_t975(n - 1) * ci->sd / sqrt(n);
}

void storm_seeds_report_add(struct storm_seeds_report *sr, uint32_t k,
                            uint64_t seed, const struct storm_result *r,
                            uint32_t nr)
{
    if ( k == 0 )
    {
        sr->nr = nr;
        for ( uint32_t p = 0; p < nr; p++ )
            sr->policy[p] = r[p].policy;
    }
    for ( uint32_t p = 0; p < nr && p < sr->nr; p++ )
    {
        if ( r[p].error && !sr->error[p][0] )
            snprintf(sr->error[p], sizeof(sr->error[p]), "seed %llu: %s",
                     (unsigned long long)seed, r[p].message);
        for ( uint32_t f = 0; f < STORM_NR_FIGURES; f++ )
            sr->fig[p][f][k] = storm_figure(&r[p], f);
    }
}

/* ========================================================================
 * The process pool
 * ======================================================================== */

struct seed_job {
    const struct storm_scenario *s;
    uint64_t seed;
    pid_t pid;
    bool done, ok;
    int fd;                      /* its results, in an unlinked file */
};

/* Seeds started and not yet handed over, each holding a file open. */
#define MAX_OUTSTANDING 256

/* A seed's process: prepare its VMs, run every policy, write it all. */
static int seed_child(const struct storm_scenario *s, uint64_t seed,
                      bool want_vms, int fd)
{
    struct storm_scenario mine;
    struct storm_result *r = calloc(TS_NR_POLICIES, sizeof(*r));
    struct storm_vms v[TS_NR_POLICIES];
    char err[256];
    int32_t nr;

    memset(v, 0, sizeof(v));
    storm_copy_inputs(&mine, s);
    mine.seed = seed;
    mine.progress = false;
    if ( !r || storm_prepare(&mine, err, sizeof(err)) )
        return -1;
    nr = storm_run_vms(&mine, r, want_vms ? v : NULL);
    if ( nr < 0 || storm_write_all(fd, &nr, sizeof(nr)) )
        return -1;
    for ( int32_t i = 0; i < nr; i++ )
        if ( storm_write_all(fd, &r[i], sizeof(r[i])) ||
             storm_send_vms(fd, &v[i]) )
            return -1;
    return 0;
}

static int start_seed(bool want_vms, struct seed_job *j)
{
    char path[] = "/tmp/numaclaim-seed.XXXXXX";
    int fd = mkstemp(path);
    pid_t parent = getpid();

    if ( fd < 0 )
        return -1;
    /* Nothing is left behind, however the run ends. */
    unlink(path);
    fflush(NULL);
    j->pid = fork();
    if ( j->pid < 0 )
    {
        close(fd);
        return -1;
    }
    if ( j->pid == 0 )
    {
        /* A seed's run dies with the storm that started it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if ( getppid() != parent )
            _exit(1);               /* it died before the prctl */
        _exit(seed_child(j->s, j->seed, want_vms, fd) ? 1 : 0);
    }
    j->fd = fd;
    return 0;
}

/* Read a finished seed's results and hand them to fn. */
static int deliver(uint32_t scenario, struct seed_job *j, bool want_vms,
                   struct storm_result *r, storm_pool_fn *fn, void *arg)
{
    const struct storm_scenario *s = j->s;
    uint64_t seed = j->seed;
    struct storm_vms v[TS_NR_POLICIES];
    int fd = j->fd, rc = -1;
    int32_t nr = 0;
    bool ok;

    memset(v, 0, sizeof(v));
    j->fd = -1;
    /* The child wrote through the same file offset. */
    ok = j->ok && lseek(fd, 0, SEEK_SET) == 0 &&
         !storm_read_all(fd, &nr, sizeof(nr)) && nr >= 0 &&
         nr <= TS_NR_POLICIES;
    for ( int32_t i = 0; ok && i < nr; i++ )
        ok = !storm_read_all(fd, &r[i], sizeof(r[i])) &&
             !storm_recv_vms(fd, s->nr_vms, want_vms ? &v[i] : NULL);
    close(fd);
    if ( !ok )
    {
        /* Every selected policy of this seed failed. */
        nr = 0;
        for ( enum ts_policy p = 0; p < TS_NR_POLICIES; p++ )
            if ( s->policies >> p & 1 )
            {
                memset(&r[nr], 0, sizeof(r[nr]));
                r[nr].policy = p;
                r[nr].error = EIO;
                snprintf(r[nr].message, sizeof(r[nr].message),
                         "the run of seed %llu did not finish",
                         (unsigned long long)seed);
                nr++;
            }
    }
    rc = fn(arg, scenario, seed, r, want_vms ? v : NULL, (uint32_t)nr);
    for ( uint32_t i = 0; i < TS_NR_POLICIES; i++ )
        storm_vms_free(&v[i]);
    return rc;
}

static void draw(uint32_t done, uint32_t nr)
{
    uint32_t width = 30, filled = nr ? done * width / nr : width;

    fprintf(stderr, "\r  seeds      [");
    for ( uint32_t i = 0; i < width; i++ )
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %u/%u", done, nr);
    if ( done == nr )
        fprintf(stderr, "\r%*s\r", 60, "");
    fflush(stderr);
}

int storm_run_pool(const struct storm_scenario *const *sc, uint32_t nr_sc,
                   uint32_t nr_seeds, uint32_t jobs, bool want_vms,
                   bool progress, storm_pool_fn *fn, void *arg)
{
    uint32_t nr = nr_sc * nr_seeds;
    struct seed_job *job = calloc(nr ? nr : 1, sizeof(*job));
    struct storm_result *r = calloc(TS_NR_POLICIES, sizeof(*r));
    uint32_t next = 0, running = 0, delivered = 0, done = 0;
    int rc = 0;

    if ( !job || !r )
    {
        free(job);
        free(r);
        errno = ENOMEM;
        return -1;
    }
    /* Scenario by scenario, seed by seed. */
    for ( uint32_t k = 0; k < nr; k++ )
    {
        job[k].s = sc[k / nr_seeds];
        job[k].seed = job[k].s->seed + k % nr_seeds;
    }
    if ( jobs == 0 )
        jobs = 1;
    while ( delivered < nr )
    {
        int status;
        pid_t pid;

        while ( rc == 0 && running < jobs && next < nr &&
                next - delivered < MAX_OUTSTANDING )
        {
            if ( start_seed(want_vms, &job[next]) )
            {
                rc = -1;
                break;
            }
            next++;
            running++;
        }
        if ( running == 0 )
            break;
        pid = waitpid(-1, &status, 0);
        if ( pid < 0 )
        {
            rc = -1;
            break;
        }
        for ( uint32_t k = 0; k < next; k++ )
            if ( job[k].pid == pid && !job[k].done )
            {
                job[k].done = true;
                job[k].ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                running--;
                done++;
                if ( progress )
                    draw(done, nr);
            }
        /* In seed order, whatever order they finish in. */
        while ( rc == 0 && delivered < next && job[delivered].done )
        {
            if ( deliver(delivered / nr_seeds, &job[delivered], want_vms, r,
                         fn, arg) )
                rc = -1;
            delivered++;
        }
    }
    /* After an error: stop the rest and close their files. */
    for ( uint32_t k = delivered; k < next; k++ )
    {
        if ( !job[k].done )
        {
            kill(job[k].pid, SIGKILL);
            waitpid(job[k].pid, NULL, 0);
        }
        if ( job[k].fd >= 0 )
            close(job[k].fd);
    }
    free(job);
    free(r);
    return rc;
}

/* One scenario: its seeds, through the pool. */
struct one_scenario {
    storm_seed_fn *fn;
    void *arg;
};

static int one(void *arg, uint32_t scenario, uint64_t seed,
               const struct storm_result *r, const struct storm_vms *vms,
               uint32_t nr)
{
    struct one_scenario *o = arg;

    (void)scenario;
    return o->fn(o->arg, seed, r, vms, nr);
}

int storm_run_seeds(const struct storm_scenario *s, uint32_t nr, uint32_t jobs,
                    bool want_vms, bool progress, storm_seed_fn *fn, void *arg)
{
    struct one_scenario o = { fn, arg };

    return storm_run_pool(&s, 1, nr, jobs, want_vms, progress, one, &o);
}
