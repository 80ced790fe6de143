/* SPDX-License-Identifier: MIT */
/*
 * Running a storm: the builders, the clock, the events and the metrics.
 *
 * Simulated time (the default).  A discrete-event loop keeps `builders`
 * build slots.  A VM arriving while a slot is free starts building at its
 * arrival time; otherwise it waits for the first slot to free up.  The
 * loop always runs the step of the slot whose clock is earliest (ties: the
 * lower slot), then advances that slot's clock by the step's cost: a
 * toolstack call costs STEP_SECONDS, populating costs SECONDS_PER_GIB per
 * GiB (the page scrubbing that dominates real builds, anchors §3).  The
 * order of steps, and so every result, depends only on the scenario and
 * its seed.
 *
 * Real threads (--threads).  `builders` threads each take the next VM and
 * run its build to the end; time is wall-clock.  Results may vary from run
 * to run, and the report says so.
 *
 * Real processes (--processes).  The same builders, each a process of its
 * own, on a private numaclaim hostd started for the policy: builders then
 * contend as separate toolstack processes do on one hypervisor.  Their
 * shared state (the next VM, the per-VM results, the placement counters
 * and the lock over them) lives in one shared anonymous mapping.
 *
 * Metrics: each VM's build, when it ends, leaves a compact record (vms.c:
 * outcome, where its memory is, its locality under locality.c's model);
 * the run's figures are sums and vCPU-weighted means over those records.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../hostd/hostd.h"
#include "storm.h"

#define STEP_SECONDS     0.002
#define SECONDS_PER_GIB  0.25
#define GIB              (1ULL << 18)

struct vm_run {
    struct ts_build b;
    double start, end;
    bool balloon_done;
};

struct sim {
    const struct storm_scenario *s;
    struct storm_result *r;
    xc_interface *xch;
    struct vm_run *run;
    struct ts_usage usage;
    double sample_every;
    uint32_t done;
    struct storm_vm_log log;     /* per-VM results, shared with builders */
};

/* ========================================================================
 * Samples
 * ======================================================================== */

static void sample(struct sim *m, double now)
{
    struct storm_result *r = m->r;
    struct storm_sample *x;
    xen_sysctl_node_claims_t nodes[TS_MAX_NODES];
    struct xc_claim_overview host;
    uint32_t nr = TS_MAX_NODES;
    uint64_t node_claims = 0;

    if ( r->nr_samples &&
         now < r->sample[r->nr_samples - 1].time + m->sample_every )
        return;
    if ( r->nr_samples == STORM_MAX_SAMPLES )
    {
        /* Full: keep every other sample, sample half as often. */
        for ( uint32_t i = 0; i < STORM_MAX_SAMPLES / 2; i++ )
            r->sample[i] = r->sample[2 * i];
        r->nr_samples = STORM_MAX_SAMPLES / 2;
        m->sample_every *= 2;
    }
    if ( xc_claim_overview(m->xch, &host, &nr, nodes) )
        return;
    x = &r->sample[r->nr_samples++];
    x->time = now;
    for ( uint32_t n = 0; n < nr && n < TS_MAX_NODES; n++ )
    {
        x->free[n] = nodes[n].free;
        x->claimed[n] = nodes[n].claimed;
        node_claims += nodes[n].claimed;
    }
    /* Outstanding claims are the host-wide ones plus the node ones. */
    x->host_claimed = host.outstanding_pages > node_claims
                      ? host.outstanding_pages - node_claims : 0;
}

/* ========================================================================
 * Set-up: the guests already running
 * ======================================================================== */

/* Uneven: node i of N holds fill * (1.5 - i / (N - 1)) of its memory. */
static int fill_host(struct sim *m)
{
    const struct storm_scenario *s = m->s;
    uint32_t n = s->host.nr_nodes;

    for ( uint32_t i = 0; i < n && s->fill_pct; i++ )
    {
        double share = s->fill_pct / 100.0 *
                       (n > 1 ? 1.5 - (double)i / (n - 1) : 1.0);
        uint64_t pages;
        struct ts_vm vm;
        struct ts_build b;

        if ( share > 0.95 )
            share = 0.95;
        pages = (uint64_t)(s->host.node_pages[i] * share) & ~511ULL;
        if ( !pages )
            continue;
        memset(&vm, 0, sizeof(vm));
        snprintf(vm.name, sizeof(vm.name), "fill%u", i);
        vm.memory_pages = vm.maxmem_pages = pages;
        vm.vcpus = 1;
        vm.nr_vnodes = 1;
        vm.vnode[0] = (struct ts_vnode){ .pages = pages, .pnode = i,
                                         .nr_vcpus = 1, .vdistance = { 10 } };
        ts_build_init(&b, &vm, TS_POLICY_NONE);
        ts_build_run(&b, m->xch);
        if ( b.outcome != TS_OUT_STARTED )
        {
            snprintf(m->r->message, sizeof(m->r->message),
                     "filling node %u failed (%s)", i, strerror(b.error));
            return -1;
        }
    }
    return 0;
}

/* ========================================================================
 * Events
 * ======================================================================== */

static void offline_frames(struct sim *m, uint64_t pages)
{
    /* Free frames from the top of the host down, as failing DIMMs would
     * take whatever is there; owned ones go pending. */
    uint64_t total = 0;

    for ( uint32_t n = 0; n < m->s->host.nr_nodes; n++ )
        total += m->s->host.node_pages[n];
    /* page_offline_op names frames in 32 bits: the top 16 TiB at most. */
    if ( total > (1ULL << 32) )
        total = 1ULL << 32;
    for ( uint64_t k = 0, mfn = total; k < pages; k++ )
    {
        uint64_t step = 1 + (k * 7919) % 64;     /* spread, deterministic */
        uint32_t status;

        if ( mfn < step )
            break;
        mfn -= step;
        xc_page_offline_op(m->xch, sysctl_page_offline, (uint32_t)mfn,
                           (uint32_t)mfn, &status);
    }
}

static void balloon(struct sim *m, struct vm_run *v)
{
    struct ts_balloon bl;

    v->balloon_done = true;
    if ( ts_balloon_down(m->xch, &v->b, v->b.vm->memory_pages / 10, &bl) == 0 )
        ts_balloon_up(m->xch, &v->b, &bl);
}

/* ========================================================================
 * Metrics
 * ======================================================================== */

static void finish_metrics(struct sim *m)
{
    const struct storm_scenario *s = m->s;
    struct storm_result *r = m->r;
    double loc = 0, dist = 0, vcpus = 0, *latency;
    uint64_t node_max = 0;
    uint32_t fit = 0, fit_one = 0;

    latency = malloc((s->nr_vms ? s->nr_vms : 1) * sizeof(*latency));
    for ( uint32_t n = 0; n < s->host.nr_nodes; n++ )
        if ( s->host.node_pages[n] > node_max )
            node_max = s->host.node_pages[n];
    for ( uint32_t i = 0; i < s->nr_vms; i++ )
    {
        struct storm_vm_result *v = &m->log.vm[i];
        const struct ts_vm *vm = &s->vms[i];
        struct xen_domctl_claim_info ci;

        v->vm = i;
        r->demand_pages += vm->memory_pages;
        r->replans += v->replans;
        if ( v->outcome == STORM_VM_FAILED_CLAIM ||
             v->outcome == STORM_VM_FAILED_PLACEMENT )
        {
            r->failed_claim++;
            r->failed_placement += v->outcome == STORM_VM_FAILED_PLACEMENT;
        }
        else if ( v->outcome == STORM_VM_FAILED_BUILD )
        {
            r->failed_build++;
            r->wasted_pages += v->populated;
        }
        else if ( v->outcome == STORM_VM_STARTED )
        {
            if ( latency )
                latency[r->started] = v->end - s->arrival[i];
            r->started++;
            r->started_pages += vm->memory_pages;
            loc += v->locality * vm->vcpus;
            dist += v->distance * vm->vcpus;
            vcpus += vm->vcpus;
            if ( vm->memory_pages <= node_max )
            {
                fit++;
                fit_one += v->nr_nodes == 1;
            }
            if ( !xc_domain_claim_info(m->xch, v->domid, &ci) )
                r->recalled_pages += ci.recalled;
        }
        if ( v->end > r->build_seconds )
            r->build_seconds = v->end;
    }
    r->locality = vcpus ? loc / vcpus : 0;
    r->mean_distance = vcpus ? dist / vcpus : 0;
    r->single_node_share = fit ? (double)fit_one / fit : 0;
    if ( latency )
    {
        r->latency_p50 = storm_percentile(latency, r->started, 0.50);
        r->latency_p99 = storm_percentile(latency, r->started, 0.99);
    }
    free(latency);
}

/* ========================================================================
 * Progress
 * ======================================================================== */

static void progress(struct sim *m)
{
    uint32_t width = 30, filled;
    uint32_t nr = m->s->nr_vms;

    /* Redraw at each percent, not at each of 10,000 VMs. */
    if ( !m->s->progress ||
         (m->done != nr && m->done * 100 / nr == (m->done - 1) * 100 / nr) )
        return;
    filled = m->s->nr_vms ? m->done * width / m->s->nr_vms : width;
    fprintf(stderr, "\r  %-10s [", ts_policy_name(m->r->policy));
    for ( uint32_t i = 0; i < width; i++ )
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %u/%u", m->done, m->s->nr_vms);
    if ( m->done == m->s->nr_vms )
        fprintf(stderr, "\r%*s\r", 60, "");
    fflush(stderr);
}

/* ========================================================================
 * The simulated-time loop
 * ======================================================================== */

struct slot {
    int32_t vm;                  /* -1: idle */
    double clock;
};

static void simulate(struct sim *m)
{
    const struct storm_scenario *s = m->s;
    uint32_t nslots = s->builders ? s->builders : 1, next_vm = 0;
    uint32_t next_event = 0;
    struct slot *slot = calloc(nslots, sizeof(*slot));

    if ( !slot )
        return;
    for ( uint32_t i = 0; i < nslots; i++ )
        slot[i] = (struct slot){ .vm = -1, .clock = 0 };

    for ( ;; )
    {
        int32_t best = -1, idle = -1;
        double now;

        for ( uint32_t i = 0; i < nslots; i++ )
        {
            if ( slot[i].vm < 0 )
            {
                if ( idle < 0 || slot[i].clock < slot[idle].clock )
                    idle = (int32_t)i;
            }
            else if ( best < 0 || slot[i].clock < slot[best].clock )
                best = (int32_t)i;
        }

        /* A waiting VM starts as soon as a slot is free. */
        if ( idle >= 0 && next_vm < s->nr_vms &&
             (best < 0 || fmax(s->arrival[next_vm], slot[idle].clock) <=
                              slot[best].clock) )
        {
            struct vm_run *v = &m->run[next_vm];

            slot[idle].clock = fmax(s->arrival[next_vm], slot[idle].clock);
            slot[idle].vm = (int32_t)next_vm;
            ts_build_init(&v->b, &s->vms[next_vm], m->r->policy);
            v->b.usage = &m->usage;
            next_vm++;
            continue;
        }
        if ( best < 0 )
            break;                          /* nothing left to run */
        now = slot[best].clock;

        /* Offline events due before this step. */
        while ( next_event < s->nr_offline &&
                s->offline[next_event].time <= now )
            offline_frames(m, s->offline[next_event++].pages);

        {
            struct vm_run *v = &m->run[slot[best].vm];
            bool more;

            if ( v->b.nr_steps == 0 )
                v->start = now;
            more = storm_vm_step(&m->log.vm[slot[best].vm], &v->b, m->xch);
            slot[best].clock += STEP_SECONDS +
                                SECONDS_PER_GIB * v->b.step_pages / GIB;
            sample(m, slot[best].clock);
            if ( !more )
            {
                v->end = slot[best].clock;
                if ( s->balloon && v->b.outcome == TS_OUT_STARTED )
                    balloon(m, v);
                storm_vm_end(&m->log, (uint32_t)slot[best].vm, s, &v->b,
                             m->xch, v->start, v->end, NULL, NULL);
                slot[best].vm = -1;
                m->done++;
                progress(m);
            }
        }
    }
    while ( next_event < s->nr_offline )
        offline_frames(m, s->offline[next_event++].pages);
    free(slot);
}

/* ========================================================================
 * Real threads
 * ======================================================================== */

struct threads {
    struct sim *m;
    pthread_mutex_t lock;        /* process-shared with --processes */
    uint32_t next;
    uint32_t alive;              /* builder threads still running */
    struct timespec t0;
};

static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *builder_thread(void *arg)
{
    struct threads *t = arg;
    struct sim *m = t->m;
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);

    for ( ; xch; )
    {
        struct vm_run *v;
        uint32_t i;

        pthread_mutex_lock(&t->lock);
        i = t->next++;
        pthread_mutex_unlock(&t->lock);
        if ( i >= m->s->nr_vms )
            break;
        v = &m->run[i];
        ts_build_init(&v->b, &m->s->vms[i], m->r->policy);
        v->b.usage = &m->usage;
        v->b.usage_lock = ts_usage_lock_mutex;
        v->b.usage_arg = &t->lock;
        v->start = since(&t->t0);
        while ( storm_vm_step(&m->log.vm[i], &v->b, xch) )
            ;
        v->end = since(&t->t0);
        if ( m->s->balloon && v->b.outcome == TS_OUT_STARTED )
        {
            struct ts_balloon bl;

            if ( !ts_balloon_down(xch, &v->b, v->b.vm->memory_pages / 10,
                                  &bl) )
                ts_balloon_up(xch, &v->b, &bl);
        }
        storm_vm_end(&m->log, i, m->s, &v->b, xch, v->start, v->end,
                     ts_usage_lock_mutex, &t->lock);
        pthread_mutex_lock(&t->lock);
        m->done++;
        progress(m);
        pthread_mutex_unlock(&t->lock);
    }
    if ( xch )
        xc_interface_close(xch);
    pthread_mutex_lock(&t->lock);
    t->alive--;
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Offline events at their wall-clock times, and samples, while the
 * builders run; returns when all VMs are done or no builder is left. */
static void watch_builders(struct sim *m, struct threads *t, uint32_t started)
{
    uint32_t next_event = 0;

    for ( ;; )
    {
        double now = since(&t->t0);
        bool finished;

        pthread_mutex_lock(&t->lock);
        finished = m->done == m->s->nr_vms || t->alive == 0;
        pthread_mutex_unlock(&t->lock);
        while ( next_event < m->s->nr_offline &&
                m->s->offline[next_event].time <= now )
            offline_frames(m, m->s->offline[next_event++].pages);
        sample(m, now);
        if ( finished || started == 0 )
            break;
        nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
    }
}

static void run_threads(struct sim *m)
{
    struct threads t = { .m = m, .lock = PTHREAD_MUTEX_INITIALIZER };
    uint32_t n = m->s->builders ? m->s->builders : 1, started = 0;
    pthread_t *th = calloc(n, sizeof(*th));

    if ( !th )
        return;
    clock_gettime(CLOCK_MONOTONIC, &t.t0);
    for ( ; started < n; started++ )
    {
        bool failed;

        pthread_mutex_lock(&t.lock);
        t.alive++;
        pthread_mutex_unlock(&t.lock);
        failed = pthread_create(&th[started], NULL, builder_thread, &t) != 0;
        if ( failed )
        {
            pthread_mutex_lock(&t.lock);
            t.alive--;
            pthread_mutex_unlock(&t.lock);
            break;
        }
    }
    watch_builders(m, &t, started);
    for ( uint32_t i = 0; i < started; i++ )
        pthread_join(th[i], NULL);
    free(th);
}

/* ========================================================================
 * Real processes
 * ======================================================================== */

/* What the builder processes share: the work counter and lock, a copy of
 * the run's state (done, usage), and the per-VM results. */
struct shared {
    struct threads t;
    struct sim sim;
    struct vm_run run[];
};

static void run_processes(struct sim *m)
{
    uint32_t n = m->s->builders ? m->s->builders : 1, started = 0;
    size_t size = sizeof(struct shared) +
                  (size_t)m->s->nr_vms * sizeof(struct vm_run);
    struct shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_t attr;
    pid_t *pid = calloc(n, sizeof(*pid));

    if ( sh == MAP_FAILED || !pid )
    {
        if ( sh != MAP_FAILED )
            munmap(sh, size);
        free(pid);
        return;
    }
    sh->sim = *m;
    sh->sim.run = sh->run;
    sh->t.m = &sh->sim;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&sh->t.lock, &attr);
    pthread_mutexattr_destroy(&attr);
    clock_gettime(CLOCK_MONOTONIC, &sh->t.t0);

    fflush(NULL);
    for ( ; started < n; started++ )
    {
        pthread_mutex_lock(&sh->t.lock);
        sh->t.alive++;
        pthread_mutex_unlock(&sh->t.lock);
        pid[started] = fork();
        if ( pid[started] == 0 )
        {
            /* A builder: its own connection to hostd, from the fork; it
             * dies with the run. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            builder_thread(&sh->t);
            _exit(0);
        }
        if ( pid[started] < 0 )
        {
            pthread_mutex_lock(&sh->t.lock);
            sh->t.alive--;
            pthread_mutex_unlock(&sh->t.lock);
            break;
        }
    }
    /* The parent watches on its own view: done and usage come from the
     * shared copy. */
    watch_builders(&sh->sim, &sh->t, started);
    for ( uint32_t i = 0; i < started; i++ )
    {
        int status;

        waitpid(pid[i], &status, 0);
        /* A builder that died leaves its VM unfinished: counted as such. */
        if ( !WIFEXITED(status) || WEXITSTATUS(status) )
            fprintf(stderr, "numaclaim storm: builder process %d ended "
                            "abnormally\n", (int)pid[i]);
    }
    memcpy(m->run, sh->run, (size_t)m->s->nr_vms * sizeof(*m->run));
    m->usage = sh->sim.usage;
    m->done = sh->sim.done;
    m->sample_every = sh->sim.sample_every;
    pthread_mutex_destroy(&sh->t.lock);
    munmap(sh, size);
    free(pid);
}

/* A private hostd for one policy's run, in a child process: 0 and its pid
 * with NUMACLAIM_SOCKET set to it, or -1. */
static int start_private_hostd(const struct storm_scenario *s, char *dir,
                               pid_t *pidp)
{
    static char path[200];
    struct nc_hostd_config cfg = { .spec = s->host.spec, .ready_fd = -1 };
    int ready[2];
    char ok;
    pid_t pid;

    if ( !mkdtemp(dir) )
        return -1;
    snprintf(path, sizeof(path), "%s/hostd.sock", dir);
    cfg.socket_path = path;
    if ( pipe(ready) )
        return -1;
    fflush(NULL);
    pid = fork();
    if ( pid < 0 )
        return -1;
    if ( pid == 0 )
    {
        close(ready[0]);
        cfg.ready_fd = ready[1];
        /* A hostd must not outlive its run. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        _exit(nc_hostd_run(&cfg));
    }
    close(ready[1]);
    if ( read(ready[0], &ok, 1) != 1 )
    {
        close(ready[0]);
        waitpid(pid, NULL, 0);
        return -1;
    }
    close(ready[0]);
    setenv("NUMACLAIM_SOCKET", path, 1);
    *pidp = pid;
    return 0;
}

static void stop_private_hostd(pid_t pid, const char *dir)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    unsetenv("NUMACLAIM_SOCKET");
    rmdir(dir);
}

/* ========================================================================
 * Entry points
 * ======================================================================== */

/* One policy's run; the per-VM records left in m->log for the caller. */
static void run_policy(struct sim *m, enum ts_policy p)
{
    const struct storm_scenario *s = m->s;
    struct storm_result *r = m->r;
    char dir[] = "/tmp/numaclaim-storm.XXXXXX";
    pid_t hostd = 0;

    memset(r, 0, sizeof(*r));
    r->policy = p;
    r->vms = s->nr_vms;
    if ( s->processes && start_private_hostd(s, dir, &hostd) )
    {
        r->error = errno ? errno : EIO;
        snprintf(r->message, sizeof(r->message), "cannot start a hostd");
        return;
    }
    m->xch = xc_interface_open(NULL, NULL, 0);
    m->run = calloc(s->nr_vms, sizeof(*m->run));
    if ( !m->xch || !m->run ||
         storm_vm_log_open(&m->log, s->nr_vms, s->host.nr_nodes) )
    {
        r->error = errno ? errno : ENOMEM;
        snprintf(r->message, sizeof(r->message), "cannot open libxenctrl");
        goto out;
    }
    if ( fill_host(m) )
    {
        r->error = EINVAL;
        goto out;
    }
    sample(m, 0);
    if ( s->processes )
        run_processes(m);
    else if ( s->threads )
        run_threads(m);
    else
        simulate(m);
    m->sample_every = 0;
    sample(m, r->build_seconds);
    finish_metrics(m);
    {
        double last = 0;

        for ( uint32_t i = 0; i < s->nr_vms; i++ )
            if ( m->run[i].end > last )
                last = m->run[i].end;
        sample(m, last);
    }
 out:
    free(m->run);
    m->run = NULL;
    if ( m->xch )
        xc_interface_close(m->xch);
    m->xch = NULL;
    if ( hostd )
        stop_private_hostd(hostd, dir);
}

void storm_run_policy(const struct storm_scenario *s, enum ts_policy p,
                      struct storm_result *r)
{
    struct sim m = { .s = s, .r = r, .sample_every = 0.01 };

    run_policy(&m, p);
    storm_vm_log_close(&m.log);
}

uint64_t storm_vm_bytes(void)
{
    /* A per-VM record and, typically, one node entry. */
    return sizeof(struct ts_vm) + sizeof(double) + sizeof(struct vm_run) +
           sizeof(struct storm_vm_result) + sizeof(uint64_t);
}

int storm_write_all(int fd, const void *p, size_t n)
{
    for ( size_t off = 0; off < n; )
    {
        ssize_t w = write(fd, (const char *)p + off, n - off);

        if ( w <= 0 )
            return -1;
        off += (size_t)w;
    }
    return 0;
}

int storm_read_all(int fd, void *p, size_t n)
{
    for ( size_t got = 0; got < n; )
    {
        ssize_t r = read(fd, (char *)p + got, n - got);

        if ( r <= 0 )
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* A policy's child: run it, send the result, then the per-VM records
 * and node entries. */
static int run_child(const struct storm_scenario *s, enum ts_policy p, int fd)
{
    struct storm_result *mine = calloc(1, sizeof(*mine));
    struct sim m = { .s = s, .r = mine, .sample_every = 0.01 };
    struct storm_vms v = { 0 };
    int rc = -1;

    if ( !mine )
        return -1;
    run_policy(&m, p);
    if ( m.log.map )
        v = (struct storm_vms){ .nr = s->nr_vms, .vm = m.log.vm,
                                .nr_node = *m.log.nr_node,
                                .node = m.log.node };
    if ( !storm_write_all(fd, mine, sizeof(*mine)) &&
         !storm_send_vms(fd, &v) )
        rc = 0;
    storm_vm_log_close(&m.log);
    free(mine);
    return rc;
}

int storm_send_vms(int fd, const struct storm_vms *v)
{
    uint64_t head[2] = { v->nr, v->nr_node };

    return storm_write_all(fd, head, sizeof(head)) ||
           storm_write_all(fd, v->vm, v->nr * sizeof(*v->vm)) ||
           storm_write_all(fd, v->node, v->nr_node * sizeof(*v->node))
           ? -1 : 0;
}

int storm_recv_vms(int fd, uint32_t max, struct storm_vms *v)
{
    struct storm_vms mine = { 0 };
    uint64_t head[2];
    int rc = -1;

    if ( storm_read_all(fd, head, sizeof(head)) || head[0] > max ||
         head[1] > head[0] * TS_MAX_NODES )
        return -1;
    mine.nr = (uint32_t)head[0];
    mine.nr_node = head[1];
    mine.vm = malloc((head[0] ? head[0] : 1) * sizeof(*mine.vm));
    mine.node = malloc((head[1] ? head[1] : 1) * sizeof(*mine.node));
    if ( mine.vm && mine.node &&
         !storm_read_all(fd, mine.vm, head[0] * sizeof(*mine.vm)) &&
         !storm_read_all(fd, mine.node, head[1] * sizeof(*mine.node)) )
        rc = 0;
    if ( !rc && v )
        *v = mine;
    else
        storm_vms_free(&mine);
    return rc;
}

/* Each policy in a child process: a fresh host from NUMACLAIM_HOST. */
int storm_run_vms(const struct storm_scenario *s, struct storm_result *results,
                  struct storm_vms *vms)
{
    uint32_t nr = 0;

    setenv("NUMACLAIM_HOST", s->host.spec, 1);
    if ( !getenv("NUMACLAIM_CHECK") )
        setenv("NUMACLAIM_CHECK", "0", 1);
    for ( enum ts_policy p = 0; p < TS_NR_POLICIES; p++ )
    {
        struct storm_result *r = &results[nr];
        struct storm_vms *v = vms ? &vms[nr] : NULL;
        int fd[2], status;
        pid_t pid;
        bool ok;

        if ( !(s->policies >> p & 1) )
            continue;
        memset(r, 0, sizeof(*r));
        if ( v )
            memset(v, 0, sizeof(*v));
        r->policy = p;
        if ( pipe(fd) )
            return -1;
        fflush(NULL);
        pid = fork();
        if ( pid < 0 )
            return -1;
        if ( pid == 0 )
        {
            /* A policy run dies with the storm that started it. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(fd[0]);
            _exit(run_child(s, p, fd[1]) ? 1 : 0);
        }
        close(fd[1]);
        ok = !storm_read_all(fd[0], r, sizeof(*r)) &&
             !storm_recv_vms(fd[0], s->nr_vms, v);
        close(fd[0]);
        waitpid(pid, &status, 0);
        if ( !ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0 )
        {
            if ( v )
                storm_vms_free(v);
            memset(r, 0, sizeof(*r));
            r->policy = p;
            r->error = EIO;
            snprintf(r->message, sizeof(r->message),
                     "the %s run did not finish (%s)", ts_policy_name(p),
                     WIFSIGNALED(status) ? strsignal(WTERMSIG(status))
                                         : "exited early");
        }
        nr++;
    }
    return (int)nr;
}

int storm_run(const struct storm_scenario *s, struct storm_result *results)
{
    return storm_run_vms(s, results, NULL);
}
