/* SPDX-License-Identifier: MIT */
/*
 * VM configs (src/toolstack/vmconfig.c): the example configs in
 * examples/vms/ load with exact field values; defaults; every cpus= form;
 * vnuma parsing; and every validation error, each checked for the source,
 * the key and what is wrong in its message.  Unsupported keys are errors
 * naming them, known keys that do not affect placement and unknown keys
 * load.  A config that fails leaves the struct ts_vm untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "toolstack.h"

#define MIB 256ULL                  /* 4 KiB pages */
#define SRC "vm.cfg"

/* ========================================================================
 * Helpers
 * ======================================================================== */

static void parse_ok(const char *text, struct ts_vm *vm)
{
    char err[512] = "";

    memset(vm, 0xA5, sizeof(*vm));
    if ( ts_vm_parse(text, SRC, vm, err, sizeof(err)) )
        fail_msg("config should load: %s\n--- config ---\n%s", err, text);
}

/*
 * The config must fail with a message that starts with the source and
 * contains each of the NULL-terminated strings; the vm is left untouched.
 */
static void __attribute__((sentinel))
parse_fails(const char *text, ...)
{
    struct ts_vm vm, before;
    char err[512] = "";
    const char *want;
    va_list ap;

    memset(&vm, 0x5A, sizeof(vm));
    before = vm;
    if ( !ts_vm_parse(text, SRC, &vm, err, sizeof(err)) )
        fail_msg("config should fail:\n%s", text);
    if ( strncmp(err, SRC ":", strlen(SRC ":")) )
        fail_msg("message does not start with the source: \"%s\"", err);
    va_start(ap, text);
    while ( (want = va_arg(ap, const char *)) )
        if ( !strstr(err, want) )
            fail_msg("message \"%s\" lacks \"%s\"", err, want);
    va_end(ap);
    assert_memory_equal(&vm, &before, sizeof(vm));
}

static char *example_path(const char *file)
{
    const char *root = getenv("NC_SOURCE_ROOT");
    char *p;

    assert_non_null(root);
    assert_true(asprintf(&p, "%s/examples/vms/%s", root, file) > 0);
    return p;
}

static void load_example(const char *file, struct ts_vm *vm)
{
    char *path = example_path(file), err[512] = "";

    memset(vm, 0xA5, sizeof(*vm));
    if ( ts_vm_load(path, vm, err, sizeof(err)) )
        fail_msg("%s should load: %s", path, err);
    free(path);
}

/* A config with a vnuma = [...] spliced in after a fixed head. */
static char *with_vnuma(const char *head, const char *vnuma)
{
    char *t;

    assert_true(asprintf(&t, "name = \"v\"\n%s\nvnuma = %s\n", head,
                         vnuma) > 0);
    return t;
}

static void vnuma_fails(const char *head, const char *vnuma, const char *w1,
                        const char *w2)
{
    char *t = with_vnuma(head, vnuma);

    parse_fails(t, w1, w2, NULL);
    free(t);
}

/* ========================================================================
 * The examples
 * ======================================================================== */

static void test_example_small(void **state)
{
    struct ts_vm vm;

    (void)state;
    load_example("small.cfg", &vm);
    assert_string_equal(vm.name, "small");
    assert_int_equal(vm.memory_pages, 2048 * MIB);
    assert_int_equal(vm.memory_pages, 524288);
    assert_int_equal(vm.maxmem_pages, 2048 * MIB);
    assert_int_equal(vm.vcpus, 2);
    assert_true(vm.hvm);
    assert_int_equal(vm.cpu_nodes, 0);
    assert_int_equal(vm.nr_vnodes, 0);
}

static void test_example_vnuma(void **state)
{
    struct ts_vm vm;

    (void)state;
    load_example("vnuma.cfg", &vm);
    assert_string_equal(vm.name, "vnuma");
    assert_int_equal(vm.memory_pages, 4096 * MIB);
    assert_int_equal(vm.maxmem_pages, 5120 * MIB);
    assert_int_equal(vm.vcpus, 4);
    assert_false(vm.hvm);
    assert_int_equal(vm.cpu_nodes, 0);
    assert_int_equal(vm.nr_vnodes, 2);
    for ( uint32_t i = 0; i < 2; i++ )
    {
        assert_int_equal(vm.vnode[i].pages, 2048 * MIB);
        assert_int_equal(vm.vnode[i].pnode, i);
        assert_int_equal(vm.vnode[i].nr_vcpus, 2);
        assert_int_equal(vm.vnode[i].vcpu_first, 2 * i);
        assert_int_equal(vm.vnode[i].vdistance[i], 10);
        assert_int_equal(vm.vnode[i].vdistance[1 - i], 20);
    }
}

static void test_example_big(void **state)
{
    struct ts_vm vm;

    (void)state;
    load_example("big.cfg", &vm);
    assert_string_equal(vm.name, "big");
    assert_int_equal(vm.memory_pages, 96 * 1024 * MIB);
    assert_int_equal(vm.maxmem_pages, 96 * 1024 * MIB);
    assert_int_equal(vm.vcpus, 16);
    assert_true(vm.hvm);
    assert_int_equal(vm.cpu_nodes, 0);
    assert_int_equal(vm.nr_vnodes, 0);
}

/* ts_vm_parse() on a file's text gives what ts_vm_load() gives. */
static void test_load_equals_parse(void **state)
{
    struct ts_vm a, b;
    char *path = example_path("vnuma.cfg"), *text = NULL, err[512];
    size_t len = 0;
    FILE *f;

    (void)state;
    f = fopen(path, "r");
    assert_non_null(f);
    assert_true(getdelim(&text, &len, '\0', f) > 0);
    fclose(f);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(ts_vm_load(path, &a, err, sizeof(err)), 0);
    assert_int_equal(ts_vm_parse(text, path, &b, err, sizeof(err)), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    free(text);
    free(path);
}

/* A file libxlutil cannot parse: its message, naming the file. */
static void test_load_syntax_error(void **state)
{
    static const char bad[] = "name = \"x\"\nmemory 1024\n";
    char path[] = "/tmp/test_vmconfig.XXXXXX", err[512] = "";
    struct ts_vm vm;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    assert_int_equal(ts_vm_load(path, &vm, err, sizeof(err)), -1);
    unlink(path);
    if ( strncmp(err, path, strlen(path)) || !strstr(err, ":2:") ||
         !strstr(err, "syntax error") )
        fail_msg("unexpected message \"%s\"", err);
}

static void test_load_missing_file(void **state)
{
    struct ts_vm vm;
    char err[512] = "";
    char *path = example_path("no-such.cfg");

    (void)state;
    assert_int_equal(ts_vm_load(path, &vm, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no-such.cfg"));
    assert_non_null(strstr(err, "No such file"));
    free(path);
}

/* A directory (or a FIFO) never reaches libxlutil's scanner, which would
 * exit the process ("input in flex scanner failed"). */
static void test_load_directory(void **state)
{
    struct ts_vm vm, before;
    char err[512] = "";
    char *path = example_path("");

    (void)state;
    memset(&vm, 0x5A, sizeof(vm));
    before = vm;
    assert_int_equal(ts_vm_load(path, &vm, err, sizeof(err)), -1);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_non_null(strstr(err, "cannot read: a directory, not a regular "
                           "file"));
    assert_memory_equal(&vm, &before, sizeof(vm));
    free(path);
}

/* A NUL byte in a quoted string fails an assertion in libxlutil's
 * dequoting (abort); the loader refuses any file with a NUL byte first
 * (found by fuzz-xlcfg; tests/fuzz/corpus/xlcfg/nul-in-string). */
static void test_load_nul_byte(void **state)
{
    static const char text[] = "name = \"a\0b\"\nmemory = 512\n";
    char path[] = "/tmp/test_vmconfig.XXXXXX", err[512] = "";
    struct ts_vm vm, before;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    close(fd);
    memset(&vm, 0x5A, sizeof(vm));
    before = vm;
    assert_int_equal(ts_vm_load(path, &vm, err, sizeof(err)), -1);
    unlink(path);
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_non_null(strstr(err, ": a NUL byte at offset 9: not a text file"));
    assert_memory_equal(&vm, &before, sizeof(vm));
}

/* Whether a config fits a host: cpus= and pnode= name nodes it has. */
static void test_check_host(void **state)
{
    struct ts_vm vm;
    uint32_t cpus[TS_MAX_NODES];
    char why[160] = "";

    (void)state;
    for ( uint32_t i = 0; i < TS_MAX_NODES; i++ )
        cpus[i] = 8;
    parse_ok("name = \"c\"\nmemory = 1024\ncpus = \"nodes:7\"\n", &vm);
    assert_int_equal(ts_vm_check_host(&vm, 8, cpus, NULL, why,
                                      sizeof(why)), 0);
    assert_int_equal(ts_vm_check_host(&vm, 4, cpus, NULL, why,
                                      sizeof(why)), -1);
    assert_string_equal(why, "cpus= names node 7, the host has 4 nodes");

    parse_ok("name = \"p\"\nmemory = 2048\nvcpus = 2\n"
             "vnuma = [ [ \"pnode=1\", \"size=1024\", \"vcpus=0\" ],"
             " [ \"pnode=7\", \"size=1024\", \"vcpus=1\" ] ]\n", &vm);
    assert_int_equal(ts_vm_check_host(&vm, 64, cpus, NULL, why,
                                      sizeof(why)), 0);
    assert_int_equal(ts_vm_check_host(&vm, 4, cpus, NULL, why,
                                      sizeof(why)), -1);
    assert_string_equal(why, "vnuma vnode 1 asks for pnode 7, the host has 4 "
                        "nodes");

    parse_ok("name = \"a\"\nmemory = 1024\ncpus = \"all\"\n", &vm);
    assert_int_equal(ts_vm_check_host(&vm, 1, cpus, NULL, why,
                                      sizeof(why)), 0);
}

/* ========================================================================
 * Scalars and defaults
 * ======================================================================== */

static void test_defaults(void **state)
{
    struct ts_vm vm;

    (void)state;
    parse_ok("name = \"d\"\nmemory = 512\n", &vm);
    assert_string_equal(vm.name, "d");
    assert_int_equal(vm.memory_pages, 512 * MIB);
    assert_int_equal(vm.maxmem_pages, 512 * MIB);   /* maxmem = memory */
    assert_int_equal(vm.vcpus, 1);
    assert_true(vm.hvm);                            /* type = "hvm" */
    assert_int_equal(vm.cpu_nodes, 0);              /* any node */
    assert_int_equal(vm.nr_vnodes, 0);
}

static void test_scalars(void **state)
{
    struct ts_vm vm;

    (void)state;
    /* maxmem above memory is balloon headroom, not populate-on-demand. */
    parse_ok("name = \"s\"\nmemory = 1024\nmaxmem = 4096\nvcpus = 4096\n"
             "type = \"pvh\"\n", &vm);
    assert_int_equal(vm.memory_pages, 1024 * MIB);
    assert_int_equal(vm.maxmem_pages, 4096 * MIB);
    assert_int_equal(vm.vcpus, 4096);
    assert_false(vm.hvm);

    /* maxmem = memory; a quoted number is a number to libxlutil. */
    parse_ok("name = \"s\"\nmemory = \"1024\"\nmaxmem = 1024\n"
             "type = \"hvm\"\n", &vm);
    assert_int_equal(vm.maxmem_pages, 1024 * MIB);
    assert_true(vm.hvm);

    /* A name of exactly 63 characters fits. */
    parse_ok("name = \"" "0123456789012345678901234567890"
             "12345678901234567890123456789012" "\"\nmemory = 1\n", &vm);
    assert_int_equal(strlen(vm.name), 63);
    assert_int_equal(vm.memory_pages, MIB);
}

static void test_name_errors(void **state)
{
    (void)state;
    parse_fails("memory = 1024\n", "name", "required", NULL);
    parse_fails("name = \"\"\nmemory = 1024\n", "name", "empty", NULL);
    parse_fails("name = \"" "0123456789012345678901234567890123456789"
                "012345678901234567890123" "\"\nmemory = 1024\n",
                "name", "64 characters, at most 63", NULL);
    parse_fails("name = [ \"a\" ]\nmemory = 1024\n", "name",
                "not a list", NULL);
}

static void test_memory_errors(void **state)
{
    (void)state;
    parse_fails("name = \"m\"\n", "memory", "required", NULL);
    parse_fails("name = \"m\"\nmemory = 0\n", "memory", "0 MiB",
                "at least 1", NULL);
    parse_fails("name = \"m\"\nmemory = \"-5\"\n", "memory", "at least 1",
                NULL);
    parse_fails("name = \"m\"\nmemory = \"2G\"\n", "memory",
                "\"2G\" is not a number of MiB", NULL);
    parse_fails("name = \"m\"\nmemory = [ 1 ]\n", "memory", "not a list",
                NULL);
    parse_fails("name = \"m\"\nmemory = 2048\nmaxmem = 1024\n", "maxmem",
                "1024 MiB is less than memory (2048 MiB)", NULL);
    parse_fails("name = \"m\"\nmemory = 2048\nmaxmem = 0\n", "maxmem",
                "at least 1", NULL);
}

static void test_vcpus_and_type_errors(void **state)
{
    (void)state;
    parse_fails("name = \"c\"\nmemory = 1024\nvcpus = 0\n", "vcpus",
                "0, must be at least 1", NULL);
    parse_fails("name = \"c\"\nmemory = 1024\nvcpus = 4097\n", "vcpus",
                "at most 4096", NULL);
    parse_fails("name = \"c\"\nmemory = 1024\nvcpus = \"two\"\n", "vcpus",
                "\"two\" is not a number", NULL);
    parse_fails("name = \"c\"\nmemory = 1024\ntype = \"pv\"\n", "type",
                "\"pv\" is not supported", NULL);
    parse_fails("name = \"c\"\nmemory = 1024\ntype = \"hvmx\"\n", "type",
                "unknown type \"hvmx\"", NULL);
}

/* ========================================================================
 * Unsupported, ignored and unknown keys
 * ======================================================================== */

static void test_unsupported_keys(void **state)
{
    static const struct {
        const char *line, *key, *why;
    } bad[] = {
        { "maxvcpus = 8", "maxvcpus", "vcpu hotplug" },
        { "builder = \"hvm\"", "builder", "type =" },
        { "claim_mode = 1", "claim_mode", "policy" },
        { "cpus_soft = \"0-3\"", "cpus_soft", "soft affinity" },
        { "nodes = \"0\"", "nodes", "nodes:" },
        { "mmio_hole = 1024", "mmio_hole", "MMIO hole" },
        { "pod = 1", "pod", "populate-on-demand" },
        { "populate_on_demand = 1", "populate_on_demand",
          "populate-on-demand" },
        /* A list is reported the same way as a string. */
        { "cpus_soft = [ \"0\", \"1\" ]", "cpus_soft", "soft affinity" },
    };

    (void)state;
    for ( size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++ )
    {
        char *t;
        char key[64];

        assert_true(asprintf(&t, "name = \"u\"\nmemory = 1024\n%s\n",
                             bad[i].line) > 0);
        snprintf(key, sizeof(key), SRC ": %s: not supported", bad[i].key);
        parse_fails(t, key, bad[i].why, NULL);
        free(t);
    }
}

static void test_numa_placement(void **state)
{
    struct ts_vm vm;

    (void)state;
    parse_ok("name = \"n\"\nmemory = 1024\nnuma_placement = 1\n", &vm);
    assert_int_equal(vm.memory_pages, 1024 * MIB);
    parse_fails("name = \"n\"\nmemory = 1024\nnuma_placement = 0\n",
                "numa_placement", "0 is not supported", NULL);
    parse_fails("name = \"n\"\nmemory = 1024\nnuma_placement = 2\n",
                "numa_placement", "at most 1", NULL);
}

/* The known keys vmconfig.c lists as ignored, and keys it has never heard
 * of, load without changing anything. */
static void test_ignored_and_unknown_keys(void **state)
{
    static const char text[] =
        "name = \"i\"\nmemory = 2048\nvcpus = 2\n"
        "kernel = \"/boot/vmlinuz\"\nramdisk = \"/boot/initrd\"\n"
        "cmdline = \"console=hvc0\"\nextra = \"quiet\"\n"
        "root = \"/dev/xvda1\"\nbootloader = \"pygrub\"\n"
        "firmware = \"ovmf\"\n"
        "disk = [ \"format=raw, vdev=xvda, target=/dev/vg0/i\" ]\n"
        "vif = [ \"bridge=xenbr0\", \"bridge=xenbr1\" ]\n"
        "vfb = [ \"vnc=1\" ]\nvga = \"stdvga\"\nvideoram = 16\n"
        "serial = \"pty\"\nvnc = 1\nsdl = 0\nusb = 1\n"
        "usbdevice = \"tablet\"\npci = [ \"01:00.0\" ]\n"
        "uuid = \"5f1c7a0e-0000-4000-8000-000000000001\"\n"
        "on_poweroff = \"destroy\"\non_reboot = \"restart\"\n"
        "on_crash = \"preserve\"\nshadow_memory = 8\n"
        "max_grant_frames = 64\nmax_maptrack_frames = 1024\n"
        "boot = \"c\"\nacpi = 1\napic = 1\nhap = 1\n"
        "viridian = [ \"defaults\" ]\nlocaltime = 0\n"
        "tsc_mode = \"default\"\ncpu_weight = 256\ncpu_cap = 0\n"
        "pool = \"Pool-0\"\ndevice_model_version = \"qemu-xen\"\n"
        "e820_host = 0\n"
        /* Unknown keys: ignored. */
        "frobnicate = 1\nsome_future_key = [ \"x\", [ \"y\" ] ]\n";
    struct ts_vm vm;

    (void)state;
    parse_ok(text, &vm);
    assert_string_equal(vm.name, "i");
    assert_int_equal(vm.memory_pages, 2048 * MIB);
    assert_int_equal(vm.maxmem_pages, 2048 * MIB);
    assert_int_equal(vm.vcpus, 2);
    assert_true(vm.hvm);
    assert_int_equal(vm.cpu_nodes, 0);
    assert_int_equal(vm.nr_vnodes, 0);
}

/* ========================================================================
 * libxlutil syntax errors
 * ======================================================================== */

static void test_syntax_error(void **state)
{
    struct ts_vm vm, before;
    char err[512] = "";

    (void)state;
    /* libxlutil's own message, with the source and the line. */
    parse_fails("name = \"x\"\nmemory = = 1024\n", SRC ":2:",
                "syntax error", NULL);
    parse_fails("name = \"x\"\nmemory = 1024\nvnuma = [ [ \"size=1024\"\n",
                SRC ":3:", "syntax error", NULL);
    parse_fails("name = \"unterminated\nmemory = 1024\n", SRC ":1:",
                "lexical error", NULL);

    /* No source: still a message; NULL text is refused. */
    memset(&vm, 0, sizeof(vm));
    before = vm;
    assert_int_equal(ts_vm_parse("memory = = 1\n", NULL, &vm, err,
                                 sizeof(err)), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(ts_vm_parse(NULL, SRC, &vm, err, sizeof(err)), -1);
    assert_non_null(strstr(err, SRC));
    assert_memory_equal(&vm, &before, sizeof(vm));

    /* A short buffer is cut, never overrun; no buffer is fine too. */
    memset(err, 'Z', sizeof(err));
    assert_int_equal(ts_vm_parse("memory = 1\n", SRC, &vm, err, 8), -1);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(err[8], 'Z');
    assert_int_equal(ts_vm_parse("memory = 1\n", SRC, &vm, NULL, 0), -1);
}

/* ========================================================================
 * cpus=
 * ======================================================================== */

/* The nodes cpus= allows on a host of nr nodes with per_node CPUs each. */
static uint64_t cpus_nodes_on(const char *cpus, uint32_t nr,
                              uint32_t per_node)
{
    uint32_t node_cpus[TS_MAX_NODES];
    struct ts_vm vm;
    uint64_t nodes = 0xdead;
    char *t, why[160];

    for ( uint32_t i = 0; i < TS_MAX_NODES; i++ )
        node_cpus[i] = per_node;
    assert_true(asprintf(&t, "name = \"c\"\nmemory = 1024\ncpus = %s\n",
                         cpus) > 0);
    parse_ok(t, &vm);
    free(t);
    assert_int_equal(ts_vm_cpu_nodes(&vm, nr, node_cpus, &nodes, why,
                                     sizeof(why)), 0);
    return nodes;
}

/* On a host of 64 one-CPU nodes, CPU i is on node i. */
static uint64_t cpus_nodes(const char *cpus)
{
    return cpus_nodes_on(cpus, 64, 1);
}

static void test_cpus_forms(void **state)
{
    (void)state;
    assert_int_equal(cpus_nodes("\"all\""), 0);
    assert_int_equal(cpus_nodes("\"0-3,5\""), 0x2F);
    assert_int_equal(cpus_nodes("\"2\""), 0x4);
    assert_int_equal(cpus_nodes("\"nodes:0,1\""), 0x3);
    assert_int_equal(cpus_nodes("\"nodes:1-2\""), 0x6);
    assert_int_equal(cpus_nodes("\"node:3\""), 0x8);
    assert_int_equal(cpus_nodes("\" 1 , 3 \""), 0xA);
    assert_int_equal(cpus_nodes("\"63\""), 1ULL << 63);
    assert_int_equal(cpus_nodes("\"0-63\""), UINT64_MAX);
    /* xl's per-vcpu list: the union of its entries. */
    assert_int_equal(cpus_nodes("[ \"0\", \"1\" ]"), 0x3);
    assert_int_equal(cpus_nodes("[ \"0-1\", \"nodes:4\" ]"), 0x13);
    /* "all" anywhere: any node. */
    assert_int_equal(cpus_nodes("\"1,all\""), 0);
    assert_int_equal(cpus_nodes("[ \"2-3\", \"all\" ]"), 0);
}

/* CPU ids are the host's: Xen numbers them node by node, so with 8 CPUs
 * a node, CPUs 0-7 are node 0's and 8-15 node 1's; nodes: is unchanged. */
static void test_cpus_map_through_host(void **state)
{
    struct ts_vm vm;
    uint32_t node_cpus[4] = { 8, 8, 8, 8 }, uneven[3] = { 2, 0, 4 };
    uint64_t nodes;
    char why[160];

    (void)state;
    assert_int_equal(cpus_nodes_on("\"0-7\"", 4, 8), 0x1);
    assert_int_equal(cpus_nodes_on("\"8-15\"", 4, 8), 0x2);
    assert_int_equal(cpus_nodes_on("\"6-9\"", 4, 8), 0x3);
    assert_int_equal(cpus_nodes_on("\"31\"", 4, 8), 0x8);
    assert_int_equal(cpus_nodes_on("[ \"0\", \"nodes:2\" ]", 4, 8), 0x5);
    assert_int_equal(cpus_nodes_on("\"nodes:1-2\"", 4, 8), 0x6);
    assert_int_equal(cpus_nodes_on("\"all\"", 4, 8), 0);

    /* A node without CPUs takes no ids: CPU 2 is node 2's first. */
    parse_ok("name = \"c\"\nmemory = 1024\ncpus = \"1-2\"\n", &vm);
    assert_int_equal(ts_vm_cpu_nodes(&vm, 3, uneven, &nodes, why,
                                     sizeof(why)), 0);
    assert_int_equal(nodes, 0x5);

    /* A CPU beyond the host is a config error for it. */
    parse_ok("name = \"c\"\nmemory = 1024\ncpus = \"30-32\"\n", &vm);
    assert_int_equal(ts_vm_check_host(&vm, 4, node_cpus, NULL, why,
                                      sizeof(why)), -1);
    assert_string_equal(why, "cpus= names CPU 32, the host has 32 CPUs");
    assert_int_equal(ts_vm_cpu_nodes(&vm, 4, node_cpus, &nodes, why,
                                     sizeof(why)), -1);
    node_cpus[3] = 9;
    assert_int_equal(ts_vm_check_host(&vm, 4, node_cpus, NULL, why,
                                      sizeof(why)), 0);
}

static void test_cpus_errors(void **state)
{
    static const char head[] = "name = \"c\"\nmemory = 1024\ncpus = ";
    static const struct {
        const char *val, *w1, *w2;
    } bad[] = {
        { "\"0-3,^1\"", "cpus: exclusion \"^1\"", "not supported" },
        { "\"all,^0\"", "exclusion", "not supported" },
        { "\"4096\"", "cpus: CPU 4096", "last CPU a host may have (4095)" },
        { "\"nodes:0-64\"", "cpus: node 64", "last node (63)" },
        { "\"3-1\"", "cpus: \"3-1\"", "range" },
        { "\"foo\"", "cpus: \"foo\"", "not a CPU" },
        { "\"nodes:x\"", "cpus: \"x\"", "not a node" },
        { "\"1,,2\"", "cpus: empty entry", "cpus" },
        { "\"nodes:\"", "cpus: empty entry", "cpus" },
        { "\"\"", "cpus: empty entry", "cpus" },
        { "[ ]", "cpus: empty list", "cpus" },
        { "[ \"0\", [ \"1\" ] ]", "cpus: entry 1", "not a string" },
    };

    (void)state;
    for ( size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++ )
    {
        char *t;

        assert_true(asprintf(&t, "%s%s\n", head, bad[i].val) > 0);
        parse_fails(t, bad[i].w1, bad[i].w2, NULL);
        free(t);
    }
}

/* ========================================================================
 * vnuma=
 * ======================================================================== */

static const char two_head[] = "memory = 2048\nvcpus = 4";

static void test_vnuma_parse(void **state)
{
    struct ts_vm vm;
    char *t;

    (void)state;
    /* pnode and vdistances left out: TS_NO_NODE and 10/20; vcpus as a
     * list; vnodes in any vcpu order; sizes that differ. */
    t = with_vnuma("memory = 3072\nvcpus = 4",
                   "[ [ \"size=1024\", \"vcpus=2,3\" ],\n"
                   "  [ \"size = 2048\", \" vcpus = 0-1 \", \"pnode=5\" ] ]");
    parse_ok(t, &vm);
    free(t);
    assert_int_equal(vm.nr_vnodes, 2);
    assert_int_equal(vm.vnode[0].pages, 1024 * MIB);
    assert_int_equal(vm.vnode[0].pnode, TS_NO_NODE);
    assert_int_equal(vm.vnode[0].vcpu_first, 2);
    assert_int_equal(vm.vnode[0].nr_vcpus, 2);
    assert_int_equal(vm.vnode[1].pages, 2048 * MIB);
    assert_int_equal(vm.vnode[1].pnode, 5);
    assert_int_equal(vm.vnode[1].vcpu_first, 0);
    assert_int_equal(vm.vnode[1].nr_vcpus, 2);
    assert_int_equal(vm.vnode[0].vdistance[0], 10);
    assert_int_equal(vm.vnode[0].vdistance[1], 20);
    assert_int_equal(vm.vnode[1].vdistance[0], 20);
    assert_int_equal(vm.vnode[1].vdistance[1], 10);

    /* No vcpus=: taken from the vnodes, as xl does.  A vnode may have
     * no vcpus (memory only). */
    t = with_vnuma("memory = 3072",
                   "[ [ \"size=1024\", \"vcpus=0-2\", \"vdistances=10,31,21\" ],"
                   "  [ \"size=1024\", \"vdistances=31,10,25\" ],"
                   "  [ \"size=1024\", \"vcpus=3\", \"vdistances=21,25,10\" ] ]");
    parse_ok(t, &vm);
    free(t);
    assert_int_equal(vm.vcpus, 4);
    assert_int_equal(vm.nr_vnodes, 3);
    assert_int_equal(vm.vnode[0].vcpu_first, 0);
    assert_int_equal(vm.vnode[0].nr_vcpus, 3);
    assert_int_equal(vm.vnode[1].nr_vcpus, 0);
    assert_int_equal(vm.vnode[2].vcpu_first, 3);
    assert_int_equal(vm.vnode[2].nr_vcpus, 1);
    assert_int_equal(vm.vnode[0].vdistance[1], 31);
    assert_int_equal(vm.vnode[2].vdistance[1], 25);
    assert_int_equal(vm.vnode[1].vdistance[2], 25);

    /* One vnode. */
    t = with_vnuma("memory = 512\nvcpus = 1",
                   "[ [ \"pnode=0\", \"size=512\", \"vcpus=0\", "
                   "\"vdistances=10\" ] ]");
    parse_ok(t, &vm);
    free(t);
    assert_int_equal(vm.nr_vnodes, 1);
    assert_int_equal(vm.vnode[0].pnode, 0);
    assert_int_equal(vm.vnode[0].pages, 512 * MIB);
}

static void test_vnuma_32_vnodes(void **state)
{
    char buf[8192], *p = buf;
    struct ts_vm vm;
    char *t;

    (void)state;
    p += sprintf(p, "[ ");
    for ( int i = 0; i < 32; i++ )
        p += sprintf(p, "%s[ \"size=64\", \"vcpus=%d\", \"pnode=%d\" ]",
                     i ? ", " : "", i, i);
    sprintf(p, " ]");
    t = with_vnuma("memory = 2048\nvcpus = 32", buf);
    parse_ok(t, &vm);
    free(t);
    assert_int_equal(vm.nr_vnodes, 32);
    assert_int_equal(vm.vnode[31].pnode, 31);
    assert_int_equal(vm.vnode[31].vcpu_first, 31);
    assert_int_equal(vm.vnode[31].vdistance[31], 10);
    assert_int_equal(vm.vnode[31].vdistance[0], 20);

    /* 33 is one too many. */
    p = buf;
    p += sprintf(p, "[ ");
    for ( int i = 0; i < 33; i++ )
        p += sprintf(p, "%s[ \"size=64\", \"vcpus=%d\" ]", i ? ", " : "", i);
    sprintf(p, " ]");
    vnuma_fails("memory = 2112\nvcpus = 33", buf,
                SRC ": vnuma: 33 vnodes", "at most 32");
}

static void test_vnuma_errors(void **state)
{
    (void)state;
    /* Sizes. */
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\" ],"
                "  [ \"size=2048\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma: vnode sizes add up to 3072 MiB",
                "memory is 2048 MiB");
    vnuma_fails(two_head,
                "[ [ \"size=2048\", \"vcpus=0-1\" ], [ \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 1: size is required", "MiB");
    vnuma_fails(two_head,
                "[ [ \"size=0\", \"vcpus=0-1\" ], [ \"size=2048\" ] ]",
                SRC ": vnuma vnode 0: size: 0 MiB", "must be 1..");
    vnuma_fails(two_head,
                "[ [ \"size=1G\", \"vcpus=0-1\" ], [ \"size=2048\" ] ]",
                SRC ": vnuma vnode 0: size: \"1G\"", "not a number of MiB");
    /* 2^64 + 2 MiB would wrap around to 2 MiB: out of range instead,
     * however many digits. */
    vnuma_fails(two_head,
                "[ [ \"size=18446744073709551618\", \"vcpus=0-1\" ],"
                "  [ \"size=2046\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: size: 18446744073709551618 MiB",
                "must be 1..");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\" ],"
                "  [ \"size=000000000000000000001024\", \"vcpus=2-3\","
                "    \"pnode=184467440737095516160\" ] ]",
                SRC ": vnuma vnode 1: pnode: 184467440737095516160 is beyond",
                "last node (63)");
    vnuma_fails(two_head,
                "[ [ \"size=+1024\", \"vcpus=0-1\" ], [ \"size=1024\" ] ]",
                SRC ": vnuma vnode 0: size: \"+1024\"", "not a number");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10,,20\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: vdistances: empty entry", "vdistances");

    /* vdistances. */
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10,20\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\", \"vdistances=20,10,20\" ] ]",
                SRC ": vnuma vnode 1: vdistances has 3 entries, 2 vnodes "
                "need 2", "vdistances");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: vdistances has 1 entries, 2 vnodes "
                "need 2", "vdistances");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10,20\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\", \"vdistances=20,15\" ] ]",
                SRC ": vnuma vnode 1: vdistances: distance to itself is 15",
                "must be 10");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10,10\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\", \"vdistances=10,10\" ] ]",
                SRC ": vnuma vnode 0: vdistances: distance to vnode 1 is 10",
                "remote distance must be 11..255");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10,256\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\", \"vdistances=256,10\" ] ]",
                SRC ": vnuma vnode 0: vdistances: distance to vnode 1 is 256",
                "11..255");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10,20\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\", \"vdistances=21,10\" ] ]",
                SRC ": vnuma: vdistances are not symmetric",
                "vnode 0 to 1 is 20, vnode 1 to 0 is 21");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"vdistances=10,x\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: vdistances: \"x\"", "not a distance");

    /* vcpus: not covered, overlapping, non-contiguous, out of range. */
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\" ],"
                "  [ \"size=1024\", \"vcpus=2\" ] ]",
                SRC ": vnuma: vcpu 3 is in no vnode", "vcpus = 4");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-2\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma: vcpu 2 is in vnode 0 and vnode 1", "vcpu 2");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0,2\" ],"
                "  [ \"size=1024\", \"vcpus=1,3\" ] ]",
                SRC ": vnuma vnode 0: vcpus 0-2 leave out vcpu 1",
                "one contiguous range");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\" ],"
                "  [ \"size=1024\", \"vcpus=2-4\" ] ]",
                SRC ": vnuma vnode 1: vcpu 4 but the VM has 4 vcpus",
                "vcpus = 4");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\" ],"
                "  [ \"size=1024\", \"vcpus=3-2\" ] ]",
                SRC ": vnuma vnode 1: vcpus: \"3-2\"", "range");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\" ],"
                "  [ \"size=1024\", \"vcpus=2-4096\" ] ]",
                SRC ": vnuma vnode 1: vcpus: vcpu 4096", "last possible");
    vnuma_fails("memory = 2048",
                "[ [ \"size=1024\" ], [ \"size=1024\" ] ]",
                SRC ": vnuma: no vnode has vcpus", "vcpus= is not given");

    /* Keys. */
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"memory=7\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: unknown key \"memory\"", "pnode, size");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\", \"size=1024\" ] ]",
                SRC ": vnuma vnode 1: size given twice", "size");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"pnode\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: \"pnode\" is not key=value", "pnode");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"pnode=\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: pnode: empty value", "pnode");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"pnode=64\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: pnode: 64 is beyond the last node",
                "(63)");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", \"vcpus=0-1\", \"pnode=one\" ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: pnode: \"one\"", "not a node");

    /* Shapes. */
    vnuma_fails(two_head, "[ \"size=2048\", \"vcpus=0-3\" ]",
                SRC ": vnuma vnode 0: not a list", "key=value");
    vnuma_fails(two_head,
                "[ [ \"size=1024\", [ \"vcpus=0-1\" ] ],"
                "  [ \"size=1024\", \"vcpus=2-3\" ] ]",
                SRC ": vnuma vnode 0: entry 1 is not a \"key=value\" string",
                "vnode 0");
    vnuma_fails(two_head, "\"size=2048\"",
                SRC ": vnuma: expected a list of vnodes", "key=value");
    vnuma_fails(two_head, "[ ]", SRC ": vnuma: empty list", "no vNUMA");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_small),
        cmocka_unit_test(test_example_vnuma),
        cmocka_unit_test(test_example_big),
        cmocka_unit_test(test_load_equals_parse),
        cmocka_unit_test(test_load_syntax_error),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_directory),
        cmocka_unit_test(test_check_host),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_name_errors),
        cmocka_unit_test(test_memory_errors),
        cmocka_unit_test(test_vcpus_and_type_errors),
        cmocka_unit_test(test_unsupported_keys),
        cmocka_unit_test(test_numa_placement),
        cmocka_unit_test(test_ignored_and_unknown_keys),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_cpus_forms),
        cmocka_unit_test(test_cpus_map_through_host),
        cmocka_unit_test(test_cpus_errors),
        cmocka_unit_test(test_load_nul_byte),
        cmocka_unit_test(test_vnuma_parse),
        cmocka_unit_test(test_vnuma_32_vnodes),
        cmocka_unit_test(test_vnuma_errors),
    };

    return cmocka_run_group_tests_name("vmconfig", tests, NULL, NULL);
}
