/* SPDX-License-Identifier: MIT */
/*
 * VM configs: ts_vm_load() and ts_vm_parse() read an xl.cfg(5) file with
 * Debian's libxlutil and keep what matters for memory placement: name,
 * memory, maxmem, vcpus, type, cpus and vnuma.  Sizes are MiB in the file
 * and 4 KiB pages in struct ts_vm.  Every message starts with the source
 * and names the key ("vm.cfg: vnuma vnode 1: vdistances has 3 entries, 2
 * vnodes need 2"); libxlutil's own syntax errors are captured from its
 * report stream and passed on as they are.  On error *vm is left untouched.
 *
 * Keys and decisions:
 *   name        required, 1..63 characters.
 *   memory      required, MiB, > 0.  maxmem defaults to memory and must not
 *               be below it; maxmem > memory is balloon headroom (xl would
 *               make an HVM guest populate-on-demand; numaclaim populates
 *               memory= up front and treats the rest as headroom).
 *   vcpus       1..4096, default 1; with vnuma and no vcpus= the count is
 *               taken from the vnodes, as xl does.
 *   type        "hvm" (default) or "pvh"; "pv" is rejected.
 *   cpus        "all", "0-3,5", "nodes:0,1" ("node:" too), or a list of such
 *               strings (xl's per-vcpu form: the union is taken).  Nodes
 *               are < 64 (cpu_nodes); CPUs are host CPU ids < 4096 (cpu_map),
 *               kept as given: which node a CPU is on depends on the host,
 *               so ts_vm_cpu_nodes maps them at plan time (Xen numbers
 *               CPUs node by node).  "all" anywhere, or no cpus=, means
 *               any node (both empty).  "^n" exclusions are rejected.
 *   vnuma       a list of at most 32 vnodes, each a list of "key=value":
 *               size (MiB, required, > 0), pnode (optional, < 64; the
 *               host check is ts_vm_check_host's), vcpus (optional: a vnode
 *               may have no vcpus; otherwise ids or ranges that form one
 *               contiguous range), vdistances (optional, default 10 local and 20
 *               remote; otherwise exactly one entry per vnode).  The sizes
 *               add up to memory (xl compares with maxmem: numaclaim
 *               populates memory=), each vcpu 0..vcpus-1 is in exactly one
 *               vnode, and the distance matrix is 10 on the diagonal, more
 *               than 10 (at most 255) elsewhere and symmetric.  Any other
 *               key, or a key given twice, is an error naming it.
 *   numa_placement  libxl's automatic placement switch (not an xl.cfg key,
 *               but the name a user reaches for): 1 is accepted, since a
 *               numaclaim policy always places the VM; 0 is rejected.
 *
 * Unsupported keys, each an error naming it (they would change where or
 * how memory is placed, so they are never silently dropped): maxvcpus,
 * builder, claim_mode, cpus_soft, nodes, mmio_hole, pod,
 * populate_on_demand.
 *
 * Known keys that are ignored because they do not affect memory placement
 * (tests/test_vmconfig.c checks that a config with all of them loads):
 * kernel, ramdisk, cmdline, extra, root, bootloader, firmware, disk, vif,
 * vfb, vga, videoram, serial, vnc, sdl, usb, usbdevice, pci, uuid,
 * on_poweroff, on_reboot, on_crash, shadow_memory, max_grant_frames,
 * max_maptrack_frames, boot, acpi, apic, hap, viridian, localtime,
 * tsc_mode, cpu_weight, cpu_cap, pool, device_model_version, e820_host.
 * Any other key is ignored too: xl.cfg has hundreds of keys and libxlutil
 * offers no way to list the keys of a config, so unknown keys cannot be
 * reported without a second parser of our own.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxlutil.h>

#include "toolstack.h"

#define PAGES_PER_MIB   256u          /* 4 KiB pages */
#define MAX_MIB         (1ULL << 40)  /* 1 EiB: sums of 32 stay far from 2^64 */
#define MAX_VCPUS       4096u
#define MAX_DISTANCE    255u
#define LOCAL_DISTANCE  10u
#define REMOTE_DISTANCE 20u
#define NAME_MAX_LEN    (sizeof(((struct ts_vm *)0)->name) - 1)

/* Where messages go: the source and the caller's buffer. */
struct ctx {
    const char *source;
    char *err;
    size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
fail(const struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    if ( !c->err || !c->errlen )
        return -1;
    n = snprintf(c->err, c->errlen, "%s: ", c->source);
    if ( n < 0 || (size_t)n >= c->errlen )
        return -1;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ========================================================================
 * Text helpers
 * ======================================================================== */

/* "a" or "a-b" with a <= b <= max, the whole string. */
static int parse_range(const char *s, uint64_t max, uint64_t *a, uint64_t *b)
{
    const char *end;

    if ( ts_parse_dec(s, &end, max, a) )
        return -1;
    if ( *end == '\0' )
    {
        *b = *a;
        return 0;
    }
    if ( *end != '-' || ts_parse_dec(end + 1, &end, max, b) || *end ||
         *b < *a )
        return -1;
    return 0;
}

/*
 * Call fn on each comma-separated, trimmed item of s (what names the list
 * in messages); an empty item is an error.  fn returns 0 or -1 (message
 * given).
 */
static int for_each_token(const struct ctx *c, const char *what,
                          const char *s,
                          int (*fn)(const char *tok, void *arg), void *arg)
{
    int rc = ts_split(s, ',', true, fn, arg);

    if ( rc == TS_SPLIT_NOMEM )
        return fail(c, "%s: out of memory", what);
    if ( rc == TS_SPLIT_EMPTY )
        return fail(c, "%s: empty entry", what);
    return rc;
}

/* ========================================================================
 * Scalar keys
 * ======================================================================== */

/* A string key: 0, 1 if absent, -1 (message) if it is not a string. */
static int get_string(const struct ctx *c, const XLU_Config *cfg,
                      const char *key, const char **val)
{
    int e = xlu_cfg_get_string(cfg, key, val, 1);

    if ( e == ESRCH )
        return 1;
    if ( e )
        return fail(c, "%s: expected a string, not a list", key);
    return 0;
}

/* A number key within [min, max]: 0, 1 if absent, -1 with a message. */
static int get_number(const struct ctx *c, const XLU_Config *cfg,
                      const char *key, const char *unit, long min, long max,
                      long *val)
{
    const char *s;
    int e = xlu_cfg_get_long(cfg, key, val, 1);

    if ( e == ESRCH )
        return 1;
    if ( e == ERANGE )
        return fail(c, "%s: out of range", key);
    if ( e )
    {
        if ( xlu_cfg_get_string(cfg, key, &s, 1) )
            return fail(c, "%s: expected a number, not a list", key);
        return fail(c, "%s: \"%s\" is not a number%s%s", key, s,
                    *unit ? " of " : "", unit);
    }
    if ( *val < min )
        return fail(c, "%s: %ld%s%s, must be at least %ld", key, *val,
                    *unit ? " " : "", unit, min);
    if ( *val > max )
        return fail(c, "%s: %ld%s%s, must be at most %ld", key, *val,
                    *unit ? " " : "", unit, max);
    return 0;
}

static bool present(const XLU_Config *cfg, const char *key)
{
    const char *s;

    return xlu_cfg_get_string(cfg, key, &s, 1) != ESRCH;
}

/* Keys that would change memory placement and that numaclaim lacks. */
static const struct {
    const char *key;
    const char *why;
} unsupported[] = {
    { "maxvcpus", "vcpu hotplug is not modelled; give vcpus= only" },
    { "builder", "use type = \"hvm\" or \"pvh\"" },
    { "claim_mode", "numaclaim's placement policy decides how memory is "
                    "claimed" },
    { "cpus_soft", "soft affinity is not modelled; use cpus=" },
    { "nodes", "use cpus = \"nodes:...\"" },
    { "mmio_hole", "numaclaim's guest layout has a fixed MMIO hole at "
                   "0xF0000000-4G" },
    { "pod", "populate-on-demand is not modelled; maxmem > memory is "
             "balloon headroom" },
    { "populate_on_demand", "populate-on-demand is not modelled; maxmem > "
                            "memory is balloon headroom" },
};

static int check_unsupported(const struct ctx *c, const XLU_Config *cfg)
{
    long v;
    int rc;

    for ( size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]);
          i++ )
        if ( present(cfg, unsupported[i].key) )
            return fail(c, "%s: not supported (%s)", unsupported[i].key,
                        unsupported[i].why);

    rc = get_number(c, cfg, "numa_placement", "", 0, 1, &v);
    if ( rc < 0 )
        return -1;
    if ( rc == 0 && v == 0 )
        return fail(c, "numa_placement: 0 is not supported (numaclaim's "
                    "placement policy always places the VM; restrict it "
                    "with cpus= or vnuma pnode=)");
    return 0;
}

static int parse_scalars(const struct ctx *c, const XLU_Config *cfg,
                         struct ts_vm *vm, bool *vcpus_given)
{
    const char *s;
    long v;
    int rc;

    rc = get_string(c, cfg, "name", &s);
    if ( rc < 0 )
        return -1;
    if ( rc )
        return fail(c, "name: required");
    if ( !*s )
        return fail(c, "name: empty");
    if ( strlen(s) > NAME_MAX_LEN )
        return fail(c, "name: %zu characters, at most %zu", strlen(s),
                    NAME_MAX_LEN);
    strcpy(vm->name, s);

    rc = get_number(c, cfg, "memory", "MiB", 1, (long)MAX_MIB, &v);
    if ( rc < 0 )
        return -1;
    if ( rc )
        return fail(c, "memory: required (MiB)");
    vm->memory_pages = (uint64_t)v * PAGES_PER_MIB;

    rc = get_number(c, cfg, "maxmem", "MiB", 1, (long)MAX_MIB, &v);
    if ( rc < 0 )
        return -1;
    if ( rc )
        vm->maxmem_pages = vm->memory_pages;
    else if ( (uint64_t)v * PAGES_PER_MIB < vm->memory_pages )
        return fail(c, "maxmem: %ld MiB is less than memory (%" PRIu64
                    " MiB)", v, vm->memory_pages / PAGES_PER_MIB);
    else
        vm->maxmem_pages = (uint64_t)v * PAGES_PER_MIB;

    rc = get_number(c, cfg, "vcpus", "", 1, MAX_VCPUS, &v);
    if ( rc < 0 )
        return -1;
    *vcpus_given = rc == 0;
    vm->vcpus = rc ? 1 : (uint32_t)v;

    rc = get_string(c, cfg, "type", &s);
    if ( rc < 0 )
        return -1;
    if ( rc || !strcmp(s, "hvm") )
        vm->hvm = true;
    else if ( !strcmp(s, "pvh") )
        vm->hvm = false;
    else if ( !strcmp(s, "pv") )
        return fail(c, "type: \"pv\" is not supported (numaclaim builds "
                    "hvm and pvh guests)");
    else
        return fail(c, "type: unknown type \"%s\" (hvm or pvh)", s);
    return 0;
}

/* ========================================================================
 * cpus=
 * ======================================================================== */

struct cpus_arg {
    const struct ctx *c;
    uint64_t nodes;
    uint64_t cpus[TS_MAX_CPUS / 64];
    bool all;
};

static int cpus_token(const char *tok, void *arg)
{
    struct cpus_arg *a = arg;
    const char *what = "CPU";
    bool node = false;
    uint64_t lo, hi;

    if ( !strcmp(tok, "all") )
    {
        a->all = true;
        return 0;
    }
    if ( tok[0] == '^' )
        return fail(a->c, "cpus: exclusion \"%s\" is not supported", tok);
    if ( !strncmp(tok, "nodes:", 6) || !strncmp(tok, "node:", 5) )
    {
        tok = strchr(tok, ':') + 1;
        what = "node";
        node = true;
    }
    if ( !*tok )
        return fail(a->c, "cpus: empty entry");
    if ( parse_range(tok, UINT32_MAX, &lo, &hi) )
        return fail(a->c, "cpus: \"%s\" is not a %s or a range of them "
                    "(\"a-b\")", tok, what);
    if ( node && hi >= TS_MAX_NODES )
        return fail(a->c, "cpus: node %" PRIu64 " is beyond the last node "
                    "(%u)", hi, TS_MAX_NODES - 1);
    if ( !node && hi >= TS_MAX_CPUS )
        return fail(a->c, "cpus: CPU %" PRIu64 " is beyond the last CPU a "
                    "host may have (%u)", hi, TS_MAX_CPUS - 1);
    for ( ; lo <= hi; lo++ )
        if ( node )
            a->nodes |= 1ULL << lo;
        else
            a->cpus[lo / 64] |= 1ULL << (lo % 64);
    return 0;
}

static int cpus_string(struct cpus_arg *a, const char *s)
{
    return for_each_token(a->c, "cpus", s, cpus_token, a);
}

static int parse_cpus(const struct ctx *c, const XLU_Config *cfg,
                      struct ts_vm *vm)
{
    struct cpus_arg a = { .c = c };
    XLU_ConfigList *list;
    const char *s;
    int n, e;

    e = xlu_cfg_get_list(cfg, "cpus", &list, &n, 1);
    if ( e == ESRCH )
        return 0;
    if ( e == 0 )
    {
        if ( n == 0 )
            return fail(c, "cpus: empty list");
        for ( int i = 0; i < n; i++ )
        {
            s = xlu_cfg_get_listitem(list, i);
            if ( !s )
                return fail(c, "cpus: entry %d is not a string", i);
            if ( cpus_string(&a, s) )
                return -1;
        }
    }
    else if ( xlu_cfg_get_string(cfg, "cpus", &s, 1) )
        return fail(c, "cpus: expected a string or a list of strings");
    else if ( cpus_string(&a, s) )
        return -1;

    vm->cpu_nodes = a.all ? 0 : a.nodes;
    if ( a.all )
        memset(vm->cpu_map, 0, sizeof(vm->cpu_map));
    else
        memcpy(vm->cpu_map, a.cpus, sizeof(vm->cpu_map));
    return 0;
}

/* ========================================================================
 * vnuma=
 * ======================================================================== */

#define VCPU_WORDS (MAX_VCPUS / 64)

struct vnode_parse {
    uint64_t vcpus[TS_MAX_VNODES][VCPU_WORDS];   /* vcpus each names */
    bool has_vdist[TS_MAX_VNODES];
};

struct vcpus_arg {
    const struct ctx *c;
    uint32_t vnode;
    uint64_t *set;
};

static int vnode_vcpus_token(const char *tok, void *arg)
{
    struct vcpus_arg *a = arg;
    uint64_t lo, hi;

    if ( parse_range(tok, UINT32_MAX, &lo, &hi) )
        return fail(a->c, "vnuma vnode %u: vcpus: \"%s\" is not a vcpu or "
                    "a range of them (\"a-b\")", a->vnode, tok);
    if ( hi >= MAX_VCPUS )
        return fail(a->c, "vnuma vnode %u: vcpus: vcpu %" PRIu64 " is beyond "
                    "the last possible vcpu (%u)", a->vnode, hi,
                    MAX_VCPUS - 1);
    for ( ; lo <= hi; lo++ )
        a->set[lo / 64] |= 1ULL << (lo % 64);
    return 0;
}

struct vdist_arg {
    const struct ctx *c;
    uint32_t vnode, nr;
    uint32_t *row;
};

static int vnode_vdist_token(const char *tok, void *arg)
{
    struct vdist_arg *a = arg;
    uint64_t d;

    if ( ts_parse_uint(tok, 0, UINT32_MAX, &d) )
        return fail(a->c, "vnuma vnode %u: vdistances: \"%s\" is not a "
                    "distance", a->vnode, tok);
    if ( a->nr < TS_MAX_VNODES )
        a->row[a->nr] = (uint32_t)d;
    a->nr++;
    return 0;
}

/* One "key=value" of vnode i. */
static int vnode_item(const struct ctx *c, const char *item, uint32_t i,
                      uint32_t nr_vnodes, struct ts_vnode *vn,
                      struct vnode_parse *vp, unsigned int *seen)
{
    static const char *const keys[] = { "pnode", "size", "vcpus",
                                        "vdistances" };
    char *copy = ts_strdup(item), *eq, *key, *val, what[40];
    unsigned int k;
    uint64_t x;
    int rc = -1, t;

    if ( !copy )
        return fail(c, "vnuma vnode %u: out of memory", i);
    eq = strchr(copy, '=');
    if ( !eq )
    {
        fail(c, "vnuma vnode %u: \"%s\" is not key=value", i, item);
        goto out;
    }
    *eq = '\0';
    key = ts_trim(copy);
    val = ts_trim(eq + 1);

    for ( k = 0; k < sizeof(keys) / sizeof(keys[0]); k++ )
        if ( !strcmp(key, keys[k]) )
            break;
    if ( k == sizeof(keys) / sizeof(keys[0]) )
    {
        fail(c, "vnuma vnode %u: unknown key \"%s\" (pnode, size, vcpus, "
             "vdistances)", i, key);
        goto out;
    }
    if ( *seen & (1u << k) )
    {
        fail(c, "vnuma vnode %u: %s given twice", i, key);
        goto out;
    }
    *seen |= 1u << k;
    if ( !*val )
    {
        fail(c, "vnuma vnode %u: %s: empty value", i, key);
        goto out;
    }

    switch ( k )
    {
    case 0: /* pnode */
        t = ts_parse_uint(val, 0, TS_MAX_NODES - 1, &x);
        if ( t == TS_NUM_RANGE )
        {
            fail(c, "vnuma vnode %u: pnode: %s is beyond the last node (%u)",
                 i, val, TS_MAX_NODES - 1);
            goto out;
        }
        if ( t )
        {
            fail(c, "vnuma vnode %u: pnode: \"%s\" is not a node", i, val);
            goto out;
        }
        vn->pnode = (uint32_t)x;
        break;

    case 1: /* size */
        /* Out of range however many digits it has: it cannot wrap. */
        t = ts_parse_uint(val, 1, MAX_MIB, &x);
        if ( t == TS_NUM_RANGE )
        {
            fail(c, "vnuma vnode %u: size: %s MiB, must be 1..%llu", i, val,
                 MAX_MIB);
            goto out;
        }
        if ( t )
        {
            fail(c, "vnuma vnode %u: size: \"%s\" is not a number of MiB",
                 i, val);
            goto out;
        }
        vn->pages = x * PAGES_PER_MIB;
        break;

    case 2: /* vcpus */
    {
        struct vcpus_arg a = { .c = c, .vnode = i, .set = vp->vcpus[i] };

        snprintf(what, sizeof(what), "vnuma vnode %u: vcpus", i);
        if ( for_each_token(c, what, val, vnode_vcpus_token, &a) )
            goto out;
        break;
    }

    case 3: /* vdistances */
    {
        struct vdist_arg a = { .c = c, .vnode = i, .row = vn->vdistance };

        snprintf(what, sizeof(what), "vnuma vnode %u: vdistances", i);
        if ( for_each_token(c, what, val, vnode_vdist_token, &a) )
            goto out;
        if ( a.nr != nr_vnodes )
        {
            fail(c, "vnuma vnode %u: vdistances has %u entries, %u vnodes "
                 "need %u", i, a.nr, nr_vnodes, nr_vnodes);
            goto out;
        }
        vp->has_vdist[i] = true;
        break;
    }
    }
    rc = 0;

 out:
    ts_free(copy);
    return rc;
}

static bool vcpu_in(const uint64_t *set, uint32_t v)
{
    return set[v / 64] & (1ULL << (v % 64));
}

/* The vcpus of every vnode: disjoint, contiguous, covering 0..vcpus-1. */
static int check_vnode_vcpus(const struct ctx *c, struct ts_vm *vm,
                             const struct vnode_parse *vp, bool vcpus_given)
{
    uint32_t owner[MAX_VCPUS], top = 0;

    for ( uint32_t v = 0; v < MAX_VCPUS; v++ )
        owner[v] = TS_NO_NODE;

    for ( uint32_t i = 0; i < vm->nr_vnodes; i++ )
    {
        struct ts_vnode *vn = &vm->vnode[i];
        uint32_t first = TS_NO_NODE, last = 0, nr = 0;

        for ( uint32_t v = 0; v < MAX_VCPUS; v++ )
        {
            if ( !vcpu_in(vp->vcpus[i], v) )
                continue;
            if ( owner[v] != TS_NO_NODE )
                return fail(c, "vnuma: vcpu %u is in vnode %u and vnode %u",
                            v, owner[v], i);
            owner[v] = i;
            if ( first == TS_NO_NODE )
                first = v;
            last = v;
            nr++;
        }
        if ( nr && last - first + 1 != nr )
        {
            uint32_t gap = first;

            while ( vcpu_in(vp->vcpus[i], gap) )
                gap++;
            return fail(c, "vnuma vnode %u: vcpus %u-%u leave out vcpu %u: "
                        "a vnode's vcpus must be one contiguous range",
                        i, first, last, gap);
        }
        vn->vcpu_first = nr ? first : 0;
        vn->nr_vcpus = nr;
        if ( nr && last + 1 > top )
            top = last + 1;
    }

    /* No vcpus= with vnuma: xl takes the count from the vnodes. */
    if ( !vcpus_given )
    {
        if ( top == 0 )
            return fail(c, "vnuma: no vnode has vcpus and vcpus= is not "
                        "given");
        vm->vcpus = top;
    }

    for ( uint32_t v = 0; v < MAX_VCPUS; v++ )
    {
        if ( v < vm->vcpus && owner[v] == TS_NO_NODE )
            return fail(c, "vnuma: vcpu %u is in no vnode (vcpus = %u)", v,
                        vm->vcpus);
        if ( v >= vm->vcpus && owner[v] != TS_NO_NODE )
            return fail(c, "vnuma vnode %u: vcpu %u but the VM has %u "
                        "vcpus (vcpus = %u)", owner[v], v, vm->vcpus,
                        vm->vcpus);
    }
    return 0;
}

static int check_vdistances(const struct ctx *c, struct ts_vm *vm,
                            const struct vnode_parse *vp)
{
    uint32_t n = vm->nr_vnodes;

    for ( uint32_t i = 0; i < n; i++ )
    {
        uint32_t *row = vm->vnode[i].vdistance;

        if ( !vp->has_vdist[i] )
            for ( uint32_t j = 0; j < n; j++ )
                row[j] = i == j ? LOCAL_DISTANCE : REMOTE_DISTANCE;

        for ( uint32_t j = 0; j < n; j++ )
        {
            if ( i == j && row[j] != LOCAL_DISTANCE )
                return fail(c, "vnuma vnode %u: vdistances: distance to "
                            "itself is %u, must be %u", i, row[j],
                            LOCAL_DISTANCE);
            if ( i != j &&
                 (row[j] <= LOCAL_DISTANCE || row[j] > MAX_DISTANCE) )
                return fail(c, "vnuma vnode %u: vdistances: distance to "
                            "vnode %u is %u, a remote distance must be "
                            "%u..%u", i, j, row[j], LOCAL_DISTANCE + 1,
                            MAX_DISTANCE);
        }
    }
    for ( uint32_t i = 0; i < n; i++ )
        for ( uint32_t j = i + 1; j < n; j++ )
            if ( vm->vnode[i].vdistance[j] != vm->vnode[j].vdistance[i] )
                return fail(c, "vnuma: vdistances are not symmetric: vnode "
                            "%u to %u is %u, vnode %u to %u is %u", i, j,
                            vm->vnode[i].vdistance[j], j, i,
                            vm->vnode[j].vdistance[i]);
    return 0;
}

static int parse_vnuma(const struct ctx *c, XLU_Config *cfg,
                       struct ts_vm *vm, bool vcpus_given)
{
    struct vnode_parse *vp;
    XLU_ConfigList *list, *spec;
    XLU_ConfigValue *val;
    uint64_t sum = 0;
    int n, e, rc = -1;

    e = xlu_cfg_get_list(cfg, "vnuma", &list, &n, 1);
    if ( e == ESRCH )
        return 0;
    if ( e )
        return fail(c, "vnuma: expected a list of vnodes, each a list of "
                    "\"key=value\"");
    if ( n == 0 )
        return fail(c, "vnuma: empty list (leave vnuma out for no vNUMA)");
    if ( n > TS_MAX_VNODES )
        return fail(c, "vnuma: %d vnodes, numaclaim allows at most %u", n,
                    TS_MAX_VNODES);

    vp = ts_zalloc(1, sizeof(*vp));
    if ( !vp )
        return fail(c, "vnuma: out of memory");

    vm->nr_vnodes = (uint32_t)n;
    for ( uint32_t i = 0; i < vm->nr_vnodes; i++ )
    {
        struct ts_vnode *vn = &vm->vnode[i];
        unsigned int seen = 0;

        memset(vn, 0, sizeof(*vn));
        vn->pnode = TS_NO_NODE;

        val = xlu_cfg_get_listitem2(list, (int)i);
        if ( !val || xlu_cfg_value_type(val) != XLU_LIST ||
             xlu_cfg_value_get_list(cfg, val, &spec, 1) )
        {
            fail(c, "vnuma vnode %u: not a list of \"key=value\" (vnuma = "
                 "[ [ \"size=1024\", ... ], ... ])", i);
            goto out;
        }
        for ( int j = 0; (val = xlu_cfg_get_listitem2(spec, j)); j++ )
        {
            const char *item = xlu_cfg_get_listitem(spec, j);

            if ( !item )
            {
                fail(c, "vnuma vnode %u: entry %d is not a \"key=value\" "
                     "string", i, j);
                goto out;
            }
            if ( vnode_item(c, item, i, vm->nr_vnodes, vn, vp, &seen) )
                goto out;
        }
        if ( !vn->pages )
        {
            fail(c, "vnuma vnode %u: size is required (MiB)", i);
            goto out;
        }
        sum += vn->pages;
    }

    if ( sum != vm->memory_pages )
    {
        fail(c, "vnuma: vnode sizes add up to %" PRIu64 " MiB, memory is %"
             PRIu64 " MiB (they must be equal)", sum / PAGES_PER_MIB,
             vm->memory_pages / PAGES_PER_MIB);
        goto out;
    }
    if ( check_vnode_vcpus(c, vm, vp, vcpus_given) ||
         check_vdistances(c, vm, vp) )
        goto out;
    rc = 0;

 out:
    ts_free(vp);
    return rc;
}

/* ========================================================================
 * Loading
 * ======================================================================== */

/* Put what libxlutil reported into err, one line, after the source. */
static int report_failure(const struct ctx *c, FILE *report, char **buf,
                          int e, const char *what)
{
    char *p;

    fflush(report);
    if ( !*buf || !**buf )
        return fail(c, "%s: %s", what, strerror(e));

    /* Its messages start with the source already; keep the first line. */
    p = strchr(*buf, '\n');
    if ( p )
        *p = '\0';
    if ( c->err && c->errlen )
        snprintf(c->err, c->errlen, "%s", *buf);
    return -1;
}

static int load(const char *path, const char *text, const char *source,
                struct ts_vm *out, char *err, size_t errlen)
{
    struct ctx c = { .source = source ? source : "config",
                     .err = err, .errlen = errlen };
    struct ts_vm *vm = NULL;
    XLU_Config *cfg = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *report;
    bool vcpus_given = false;
    int e, rc = -1;

    if ( err && errlen )
        err[0] = '\0';
    if ( !out || (!path && !text) )
        return fail(&c, "no config or no struct ts_vm");
    if ( text && strlen(text) > INT_MAX )
        return fail(&c, "config too large");

    report = open_memstream(&buf, &len);
    if ( !report )
        return fail(&c, "cannot open a report stream: %s", strerror(errno));

    vm = ts_zalloc(1, sizeof(*vm));
    cfg = xlu_cfg_init(report, c.source);
    if ( !vm || !cfg )
    {
        fail(&c, "out of memory");
        goto out;
    }

    /*
     * libxlutil's message for a file it cannot open loses the errno, and
     * its scanner exits the process ("input in flex scanner failed") when
     * reading fails later, as it does on a directory: so only a regular
     * file that opens is given to it.  Nor a file with a NUL byte in it:
     * inside a quoted string one fails an assertion in libxlutil's
     * dequoting (found by fuzz-xlcfg), and no xl.cfg has one.
     */
    if ( path )
    {
        FILE *f = fopen(path, "r");
        struct stat st;
        long nul = -1;

        if ( !f )
        {
            fail(&c, "cannot read: %s", strerror(errno));
            goto out;
        }
        e = fstat(fileno(f), &st) ? errno : 0;
        if ( !e && S_ISREG(st.st_mode) )
        {
            int ch;

            for ( long at = 0; (ch = getc(f)) != EOF; at++ )
                if ( ch == '\0' )
                {
                    nul = at;
                    break;
                }
            e = ferror(f) ? EIO : 0;
        }
        fclose(f);
        if ( e )
        {
            fail(&c, "cannot read: %s", strerror(e));
            goto out;
        }
        if ( !S_ISREG(st.st_mode) )
        {
            fail(&c, "cannot read: %s, not a regular file",
                 S_ISDIR(st.st_mode) ? "a directory" : "a special file");
            goto out;
        }
        if ( nul >= 0 )
        {
            fail(&c, "a NUL byte at offset %ld: not a text file", nul);
            goto out;
        }
    }

    e = path ? xlu_cfg_readfile(cfg, path)
             : xlu_cfg_readdata(cfg, text, (int)strlen(text));
    if ( e )
    {
        report_failure(&c, report, &buf, e,
                       path ? "cannot read" : "cannot parse");
        goto out;
    }

    if ( check_unsupported(&c, cfg) ||
         parse_scalars(&c, cfg, vm, &vcpus_given) ||
         parse_cpus(&c, cfg, vm) ||
         parse_vnuma(&c, cfg, vm, vcpus_given) )
        goto out;

    *out = *vm;
    rc = 0;

 out:
    if ( cfg )
        xlu_cfg_destroy(cfg);
    fclose(report);
    free(buf);
    ts_free(vm);
    return rc;
}

int ts_vm_cpu_nodes(const struct ts_vm *vm, uint32_t nr_nodes,
                    const uint32_t *node_cpus, uint64_t *nodes, char *why,
                    size_t whylen)
{
    uint64_t all = nr_nodes >= 64 ? ~0ULL : (1ULL << nr_nodes) - 1;
    uint32_t cpu = 0, total = 0;

    if ( vm->cpu_nodes & ~all )
    {
        snprintf(why, whylen, "cpus= names node %u, the host has %u nodes",
                 (uint32_t)__builtin_ctzll(vm->cpu_nodes & ~all), nr_nodes);
        return -1;
    }
    *nodes = vm->cpu_nodes;
    /* No CPU list (most VMs): nothing to map, nothing to refuse. */
    {
        uint64_t any = 0;

        for ( uint32_t w = 0; w < TS_MAX_CPUS / 64; w++ )
            any |= vm->cpu_map[w];
        if ( !any )
            return 0;
    }
    /* Xen numbers CPUs node by node: node n's are the next node_cpus[n]. */
    for ( uint32_t n = 0; n < nr_nodes; n++ )
        for ( uint32_t i = 0; i < node_cpus[n] && cpu < TS_MAX_CPUS;
              i++, cpu++ )
            if ( vm->cpu_map[cpu / 64] >> (cpu % 64) & 1 )
                *nodes |= 1ULL << n;
    for ( uint32_t n = 0; n < nr_nodes; n++ )
        total += node_cpus[n];
    for ( ; cpu < TS_MAX_CPUS; cpu++ )
        if ( vm->cpu_map[cpu / 64] >> (cpu % 64) & 1 )
        {
            snprintf(why, whylen, "cpus= names CPU %u, the host has %u CPUs",
                     cpu, total);
            return -1;
        }
    return 0;
}

int ts_vm_check_host(const struct ts_vm *vm, uint32_t nr_nodes,
                     const uint32_t *node_cpus, uint64_t *cpu_nodes,
                     char *why, size_t whylen)
{
    uint64_t nodes;

    if ( ts_vm_cpu_nodes(vm, nr_nodes, node_cpus, &nodes, why, whylen) )
        return -1;
    if ( cpu_nodes )
        *cpu_nodes = nodes;
    for ( uint32_t i = 0; i < vm->nr_vnodes; i++ )
        if ( vm->vnode[i].pnode != TS_NO_NODE &&
             vm->vnode[i].pnode >= nr_nodes )
        {
            snprintf(why, whylen, "vnuma vnode %u asks for pnode %u, the "
                     "host has %u nodes", i, vm->vnode[i].pnode, nr_nodes);
            return -1;
        }
    return 0;
}

int ts_vm_load(const char *path, struct ts_vm *vm, char *err, size_t errlen)
{
    return load(path, NULL, path, vm, err, errlen);
}

int ts_vm_parse(const char *text, const char *source, struct ts_vm *vm,
                char *err, size_t errlen)
{
    return load(NULL, text, source, vm, err, errlen);
}
