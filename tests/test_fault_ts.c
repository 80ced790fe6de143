/* SPDX-License-Identifier: MIT */
/*
 * The toolstack's fault suite: the Nth allocation the toolstack makes
 * (ts_zalloc, src/toolstack/alloc.c) fails, for every N, once and then
 * from the Nth on, along each operation that allocates: resolving a host
 * spec and an hwloc XML topology, loading an xl.cfg with vNUMA, planning
 * it under each policy, and building it (claim, vNUMA, populate).
 *
 * Each failed run must end in the operation's documented failure (-1 and
 * a message saying "out of memory", or a build that failed with ENOMEM),
 * each run that succeeds must give exactly the result of the run without
 * failures, nothing the toolstack allocated may stay allocated, and the
 * host (through libxenctrl on numaclaim's stand-ins, NUMACLAIM_HOST=4x2G)
 * must be left as it was: every page free, nothing claimed, only
 * domain 0.  What libxenctrl, libxlutil and hwloc allocate inside is
 * theirs and not swept.
 */
#include "common.h"

#include <stdlib.h>

#include "fault_hook.h"
#include "toolstack.h"

#define NODE_PAGES  (2ULL << 18)         /* 2 GiB */

static xc_interface *xch;
static char src_root[512];
static struct ts_vm vnuma_vm, small_vm;   /* examples/vms/ */

static void *ts_alloc_one(size_t size)
{
    return ts_zalloc(1, size);
}

static void ts_arm(long n, int mode)
{
    ts_fail_alloc_after(n, (enum ts_fault)mode);
}

static const struct fault_hook ts_hook = {
    ts_alloc_one, ts_free, ts_arm, ts_alloc_live,
};

struct result {
    int rc;
    char err[256];
    union {
        struct ts_host host;
        struct ts_vm vm;
        struct ts_plan plan;
        struct {
            enum ts_outcome outcome;
            int error;
            uint64_t populated;
            uint64_t vnode_pages[2][4];
        } build;
    } u;
};

/* Only domain 0, every page free, nothing claimed. */
static void assert_host_clean(void)
{
    xc_physinfo_t pi;
    xc_domaininfo_t info[4];

    assert_int_equal(xc_physinfo(xch, &pi), 0);
    assert_int_equal(pi.free_pages, 4 * NODE_PAGES);
    assert_int_equal(pi.outstanding_pages, 0);
    assert_int_equal(xc_domain_getinfolist(xch, 0, 4, info), 1);
}

/* ------------------------------------------------------------------------
 * The operations: 0, or -1 with err set
 * ------------------------------------------------------------------------ */

static int op_host_spec(struct result *r)
{
    return ts_host_resolve("4x2G;dist=10,11,21,21,11,10,21,21,21,21,10,11,"
                           "21,21,11,10", &r->u.host, r->err, sizeof(r->err));
}

static int op_host_hwloc(struct result *r)
{
    char arg[640];

    snprintf(arg, sizeof(arg), "hwloc:%s/examples/hosts/2s-snc2.xml",
             src_root);
    return ts_host_resolve(arg, &r->u.host, r->err, sizeof(r->err));
}

static int op_vm_load(struct result *r)
{
    char path[640];

    snprintf(path, sizeof(path), "%s/examples/vms/vnuma.cfg", src_root);
    return ts_vm_load(path, &r->u.vm, r->err, sizeof(r->err));
}

static int plan_with(enum ts_policy p, struct result *r)
{
    struct ts_view v;

    assert_int_equal(ts_view_read(xch, &v), 0);
    return ts_plan(p, &v, &small_vm, &r->u.plan, r->err, sizeof(r->err));
}

/* Before each planning run, unswept: plan once on another topology, so
 * that the policies' candidate cache is rebuilt inside the swept call. */
static void plan_elsewhere(void)
{
    struct ts_view v;
    struct ts_plan other;
    char why[160];

    assert_int_equal(ts_view_read(xch, &v), 0);
    v.distance[0][3] = v.distance[3][0] = 31;
    ts_plan(TS_POLICY_CLAIMSETS, &v, &small_vm, &other, why, sizeof(why));
}

static int op_plan_none(struct result *r)
{
    return plan_with(TS_POLICY_NONE, r);
}

static int op_plan_xapi(struct result *r)
{
    return plan_with(TS_POLICY_XAPI, r);
}

static int op_plan_claimsets(struct result *r)
{
    return plan_with(TS_POLICY_CLAIMSETS, r);
}

static int build_with(enum ts_policy p, struct result *r)
{
    struct ts_build *b = calloc(1, sizeof(*b));

    assert_non_null(b);
    ts_build_init(b, &vnuma_vm, p);
    ts_build_run(b, xch);
    r->u.build.outcome = b->outcome;
    r->u.build.error = b->error;
    r->u.build.populated = b->populated;
    for ( uint32_t i = 0; i < 2; i++ )
        for ( uint32_t n = 0; n < 4; n++ )
            r->u.build.vnode_pages[i][n] = b->vnode_pages[i][n];
    snprintf(r->err, sizeof(r->err), "%s", b->what);
    if ( b->outcome == TS_OUT_STARTED )
        assert_int_equal(xc_domain_destroy(xch, b->domid), 0);
    free(b);
    return r->u.build.outcome == TS_OUT_STARTED ? 0 : -1;
}

static int op_build_none(struct result *r)
{
    return build_with(TS_POLICY_NONE, r);
}

static int op_build_claimsets(struct result *r)
{
    return build_with(TS_POLICY_CLAIMSETS, r);
}

/* ------------------------------------------------------------------------
 * The sweep
 * ------------------------------------------------------------------------ */

struct op {
    const char *name;
    int (*fn)(struct result *r);
    bool build;                         /* fails as a build: ENOMEM */
    void (*prepare)(void);              /* before each run, unswept */
};

static int run_op(const struct op *op, struct result *r, long n,
                  enum ts_fault mode)
{
    int rc;

    memset(r, 0, sizeof(*r));
    if ( op->prepare )
        op->prepare();
    ts_fail_alloc_after(n, mode);
    rc = op->fn(r);
    ts_fail_alloc_after(0, TS_FAULT_OFF);
    ts_plan_forget();
    return rc;
}

static long sweep_mode(const struct op *op, enum ts_fault mode)
{
    static struct result expect, got;
    long allocs, base, n;

    /* The reference run, also warming any cache kept across calls. */
    assert_int_equal(run_op(op, &expect, 0, TS_FAULT_OFF), 0);
    assert_host_clean();
    base = ts_alloc_live();
    if ( op->prepare )
        op->prepare();
    allocs = ts_alloc_count();
    memset(&expect, 0, sizeof(expect));
    assert_int_equal(op->fn(&expect), 0);
    allocs = ts_alloc_count() - allocs;
    ts_plan_forget();
    assert_int_equal(ts_alloc_live(), base);

    for ( n = 0; n < FAULT_MAX_SWEEP; n++ )
    {
        long failed = ts_alloc_failed();
        int rc;

        rc = run_op(op, &got, n, mode);
        failed = ts_alloc_failed() - failed;
        if ( rc == 0 )
        {
            if ( memcmp(&got.u, &expect.u, sizeof(got.u)) )
                fail_msg("%s: allocation %ld failed: succeeded, but with "
                         "another result", op->name, n);
        }
        else
        {
            assert_true(failed > 0);
            if ( op->build ? got.u.build.error != ENOMEM
                           : !strstr(got.err, "out of memory") )
                fail_msg("%s: allocation %ld failed: %s", op->name, n,
                         got.err);
        }
        fault_no_leak(&ts_hook, op->name, n, (int)mode, base);
        assert_host_clean();
        if ( failed == 0 )
            break;
    }
    return fault_sweep_done(n, allocs);
}

static void sweep(const struct op *op)
{
    long allocs = sweep_mode(op, TS_FAULT_ONCE);

    assert_true(allocs > 0);
    fault_swept(op->name, allocs, sweep_mode(op, TS_FAULT_PERSIST));
}

static const struct op ops[] = {
    { "host_spec", op_host_spec, false },
    { "host_hwloc", op_host_hwloc, false },
    { "vm_load", op_vm_load, false },
    { "plan_none", op_plan_none, false, plan_elsewhere },
    { "plan_xapi", op_plan_xapi, false, plan_elsewhere },
    { "plan_claimsets", op_plan_claimsets, false, plan_elsewhere },
    { "build_none", op_build_none, true },
    { "build_claimsets", op_build_claimsets, true },
};

static void test_toolstack_operations(void **state)
{
    struct result r;
    char path[640];

    (void)state;
    assert_int_equal(op_vm_load(&r), 0);
    vnuma_vm = r.u.vm;
    snprintf(path, sizeof(path), "%s/examples/vms/small.cfg", src_root);
    assert_int_equal(ts_vm_load(path, &small_vm, r.err, sizeof(r.err)), 0);
    for ( size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++ )
        sweep(&ops[i]);
}

/* The hook itself, as the core's; and nr x size must not overflow. */
static void test_ts_hook(void **state)
{
    (void)state;
    fault_hook_check(&ts_hook);
    assert_null(ts_zalloc(SIZE_MAX / 2, 4));
}

static int open_xc(void **state)
{
    const char *root = getenv("NC_SOURCE_ROOT");

    (void)state;
    snprintf(src_root, sizeof(src_root), "%s", root ? root : ".");
    xch = xc_interface_open(NULL, NULL, 0);
    return xch ? 0 : -1;
}

static int close_xc(void **state)
{
    (void)state;
    return xc_interface_close(xch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_hook),
        cmocka_unit_test(test_toolstack_operations),
    };

    ts_alloc_track(true);
    return cmocka_run_group_tests(tests, open_xc, close_xc);
}
