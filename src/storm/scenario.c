/* SPDX-License-Identifier: MIT */
/*
 * Storm scenarios: defaults, the VM mix, and the VMs and arrival times a
 * seed generates.  The default scenario asks for more memory than the host
 * has free, so some VMs must fail: the question is how, and where the
 * others land.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storm.h"

#define GIB (1ULL << 18)

/* Two sockets with sub-NUMA clustering, 512 GiB. */
#define DEFAULT_HOST \
    "4x128G;dist=10,11,21,21,11,10,21,21,21,21,10,11,21,21,11,10"
#define DEFAULT_MIX "2G:4,4G:4,8G:3,16G:2,64G:1"

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state)
{
    return (double)(next_random(state) >> 11) / (double)(1ULL << 53);
}

void storm_defaults(struct storm_scenario *s)
{
    char err[256];

    memset(s, 0, sizeof(*s));
    if ( ts_host_resolve(DEFAULT_HOST, &s->host, err, sizeof(err)) )
        abort();                    /* a constant: cannot fail */
    s->nr_vms = 48;
    storm_parse_mix(s, DEFAULT_MIX, err, sizeof(err));
    s->fill_pct = 40;
    s->builders = 8;
    s->policies = (1u << TS_NR_POLICIES) - 1;
    s->seed = 1;
}

/* "8G" -> pages (binary suffixes, at least 1 MiB). */
static int parse_size(const char *t, size_t n, uint64_t *pages)
{
    char buf[32], *end;
    unsigned long long v;
    uint64_t shift;

    if ( n == 0 || n >= sizeof(buf) )
        return -1;
    memcpy(buf, t, n);
    buf[n] = '\0';
    v = strtoull(buf, &end, 10);
    switch ( *end )
    {
    case 'M': case 'm': shift = 20; break;
    case 'G': case 'g': shift = 30; break;
    case 'T': case 't': shift = 40; break;
    default: return -1;
    }
    if ( end == buf || end[1] || v == 0 || v > (1ULL << 20) )
        return -1;
    *pages = (uint64_t)(v << shift) >> 12;
    return 0;
}

int storm_parse_mix(struct storm_scenario *s, const char *arg, char *err,
                    size_t errlen)
{
    struct storm_mix mix[STORM_MAX_MIX];
    uint32_t nr = 0;
    const char *p = arg;

    while ( *p )
    {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        char *end;
        unsigned long w;

        if ( nr == STORM_MAX_MIX )
        {
            snprintf(err, errlen, "--mix: more than %d sizes", STORM_MAX_MIX);
            return -1;
        }
        if ( !colon || parse_size(p, (size_t)(colon - p), &mix[nr].pages) )
        {
            snprintf(err, errlen, "--mix: bad entry \"%.*s\" (expected SIZE:"
                     "WEIGHT, e.g. 8G:3, sizes from 1M with M, G or T)",
                     (int)len, p);
            return -1;
        }
        w = strtoul(colon + 1, &end, 10);
        if ( end != p + len || end == colon + 1 || w == 0 || w > 1000000 )
        {
            snprintf(err, errlen, "--mix: bad weight in \"%.*s\" (a whole "
                     "number from 1)", (int)len, p);
            return -1;
        }
        mix[nr++].weight = (uint32_t)w;
        p += len;
        if ( *p == ',' && *++p == '\0' )
        {
            snprintf(err, errlen, "--mix: trailing comma");
            return -1;
        }
    }
    if ( !nr )
    {
        snprintf(err, errlen, "--mix: empty");
        return -1;
    }
    memcpy(s->mix, mix, sizeof(mix));
    s->nr_mix = nr;
    return 0;
}

static void generated_vm(struct ts_vm *vm, uint32_t i, uint64_t pages)
{
    uint64_t gib = pages / GIB;

    memset(vm, 0, sizeof(*vm));
    snprintf(vm->name, sizeof(vm->name), "vm%u", i);
    vm->memory_pages = vm->maxmem_pages = pages;
    vm->vcpus = (uint32_t)(gib / 2 ? (gib / 2 > 32 ? 32 : gib / 2) : 1);
    vm->hvm = true;
}

int storm_prepare(struct storm_scenario *s, char *err, size_t errlen)
{
    uint64_t rnd = s->seed, total = 0;
    double t = 0;
    uint32_t n = s->nr_vms ? s->nr_vms : s->nr_configs;

    if ( n == 0 )
    {
        snprintf(err, errlen, "no VMs: give --vms N or --configs");
        return -1;
    }
    s->nr_vms = n;
    s->vms = calloc(n, sizeof(*s->vms));
    s->arrival = calloc(n, sizeof(*s->arrival));
    if ( !s->vms || !s->arrival )
    {
        snprintf(err, errlen, "out of memory for %u VMs", n);
        return -1;
    }
    for ( uint32_t k = 0; k < s->nr_mix; k++ )
        total += s->mix[k].weight;
    for ( uint32_t i = 0; i < n; i++ )
    {
        if ( s->nr_configs )
            s->vms[i] = s->configs[i % s->nr_configs];
        else
        {
            uint64_t pick = next_random(&rnd) % total, k = 0;

            while ( pick >= s->mix[k].weight )
                pick -= s->mix[k++].weight;
            generated_vm(&s->vms[i], i, s->mix[k].pages);
        }
        if ( s->rate > 0 )
            t += -log(1.0 - uniform01(&rnd)) / s->rate;
        s->arrival[i] = t;
    }
    return 0;
}

void storm_free(struct storm_scenario *s)
{
    free(s->vms);
    free(s->arrival);
    free(s->configs);
    s->vms = NULL;
    s->arrival = NULL;
    s->configs = NULL;
}
