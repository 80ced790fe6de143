/* SPDX-License-Identifier: MIT */
/*
 * fuzz-xlcfg: the xl.cfg loader (ts_vm_load, src/toolstack/vmconfig.c,
 * numaclaim's layer over Debian's libxlutil), fed files.
 *
 * The input is written to a file and loaded; the same text is parsed from
 * memory too (ts_vm_parse), which must give the same answer.  A config the
 * loader accepts is then checked against a fixed 4-node host and planned
 * on it by every placement policy (ts_plan, ts_layout_plan: pure
 * functions): each must succeed or refuse with a reason, never crash, and
 * nothing may leak.
 */
#include <fcntl.h>
#include <unistd.h>

#include "toolstack.h"
#include "fuzz.h"

#define NODES 4

static char path[64];
static struct ts_vm vm, vm2;
static struct ts_plan plan;
static struct ts_layout layout;

static void fixed_view(struct ts_view *v)
{
    memset(v, 0, sizeof(*v));
    v->nr_nodes = NODES;
    for ( uint32_t i = 0; i < NODES; i++ )
    {
        v->free[i] = (2ULL << 30) >> 12;     /* 2 GiB */
        v->cpus[i] = 8;
        for ( uint32_t j = 0; j < NODES; j++ )
            v->distance[i][j] = i == j ? 10 : 21;
    }
    v->claimed[1] = 1000;
    v->usage[2] = 1;
    v->vcpu_load[3] = 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t cpus[NODES] = { 8, 8, 8, 8 };
    char err[512], err2[512], why[256];
    struct ts_view view;
    char *text;
    uint64_t nodes;
    int fd, rc, rc2;

    if ( !path[0] )
    {
        snprintf(path, sizeof(path), "/tmp/nc-fuzz-xlcfg-%d.cfg",
                 (int)getpid());
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if ( fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) )
        FZ_FAIL("cannot write %s", path);

    memset(&vm, 0, sizeof(vm));
    rc = ts_vm_load(path, &vm, err, sizeof(err));
    unlink(path);
    if ( rc && !err[0] )
        FZ_FAIL("refused without a message");

    /* From memory: the same answer, where the text has no NUL in it. */
    if ( !memchr(data, '\0', size) )
    {
        text = fz_strdup(data, size);
        memset(&vm2, 0, sizeof(vm2));
        rc2 = ts_vm_parse(text, path, &vm2, err2, sizeof(err2));
        free(text);
        if ( rc != rc2 || (!rc && memcmp(&vm, &vm2, sizeof(vm))) )
            FZ_FAIL("file: %d (%s), memory: %d (%s)", rc, rc ? err : "",
                    rc2, rc2 ? err2 : "");
    }
    if ( rc )
        return 0;

    why[0] = '\0';
    if ( ts_vm_check_host(&vm, NODES, cpus, &nodes, why, sizeof(why)) )
    {
        if ( !why[0] )
            FZ_FAIL("does not fit the host, no reason given");
        return 0;
    }
    fixed_view(&view);
    for ( unsigned int p = 0; p < TS_NR_POLICIES; p++ )
    {
        why[0] = '\0';
        if ( ts_plan((enum ts_policy)p, &view, &vm, &plan, why, sizeof(why)) )
        {
            if ( !why[0] )
                FZ_FAIL("%s: no plan, no reason given", ts_policy_name(p));
            continue;
        }
        if ( plan.nr_vnodes < 1 || plan.nr_vnodes > TS_MAX_VNODES )
            FZ_FAIL("%s: a plan of %u vnodes", ts_policy_name(p),
                    plan.nr_vnodes);
        ts_layout_plan(&plan, &layout);
    }
    return 0;
}
