/* SPDX-License-Identifier: MIT */
/*
 * Debug keys (XEN_SYSCTL_debug_keys, `xl debug-keys`): each handler dumps
 * part of the core's state to the console, as Xen's keyhandlers do.
 *
 * A dump copies what it shows out of the locked structures in small pieces
 * (one node's zone counters, one domain's claims) and formats them after
 * the lock is dropped, so a dump of a big host never holds a heap lock for
 * more than a few hundred words of copying.  Like Xen's dumps, a dump is
 * not one atomic snapshot: counters may move between its lines.
 */
#include "private.h"

/* ========================================================================
 * 'H': the heap
 * ======================================================================== */

/*
 * Where a dump's lines go: the console ring (the debug key), or a text
 * buffer, one line per '\n' (nc_host_dump(), the checker's failure).
 */
struct dump_out {
    struct nc_host *h;
    bool console;                /* else buf */
    char *buf;
    size_t size, used;           /* used: the length the whole text needs */
};

static void dump_line(struct dump_out *o, const char *line)
{
    size_t n;

    if ( o->console )
    {
        nc_console_write(o->h, line);
        return;
    }
    n = (size_t)nc_format(o->used < o->size ? o->buf + o->used : NULL,
                          o->used < o->size ? o->size - o->used : 0,
                          "%s\n", line);
    o->used += n;
}

/*
 * Xen prints "heap[node=N][zone=Z] -> P pages" for every zone of every node
 * with memory.  numaclaim prints the same line for the zones that have
 * free pages only (a 52-bit host has 41 zones; the ring is 16 KiB), then
 * the free blocks of that zone by order, "order:count".  Each node's
 * figures are copied under its lock alone, so a dump works on a heap whose
 * invariants are broken (the checker's failure message).
 */
static void dump_heap(struct dump_out *o)
{
    struct nc_host *h = o->h;
    uint64_t host_avail = 0, host_off = 0;
    struct heap_locks l;
    char line[512];

    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
    {
        uint64_t zone_avail[NC_NR_ZONES], avail, claimed;
        const struct nc_node *nd = &h->node[n];

        if ( !nd->online || !nd->size )
            continue;
        heap_lock_node(h, &l, n);
        for ( unsigned int z = 0; z < NC_NR_ZONES; z++ )
            zone_avail[z] = nd->zone_avail[z];
        avail = nd->avail;
        claimed = nd->claimed;
        host_off += nd->offlined;
        heap_unlock_node(h, &l, n);
        host_avail += avail;

        nc_format(line, sizeof(line),
                  "node %u: %llu of %llu pages free, %llu claimed", n,
                  (unsigned long long)avail, (unsigned long long)nd->size,
                  (unsigned long long)claimed);
        dump_line(o, line);
        for ( unsigned int z = 0; z < NC_NR_ZONES; z++ )
        {
            uint64_t blocks[NC_MAX_ORDER + 1];
            size_t used;

            if ( !zone_avail[z] )
                continue;
            heap_lock_node(h, &l, n);
            for ( unsigned int k = 0; k <= NC_MAX_ORDER; k++ )
                blocks[k] = nd->zone_blocks[z][k];
            /* Cached blocks are free blocks too (heap.c). */
            for ( unsigned int k = 0; k <= NC_CACHE_MAX_ORDER; k++ )
                for ( unsigned int i = 0; i < nd->cache[k].nr; i++ )
                    if ( zone_of(nd->cache[k].mfn[i]) == z )
                        blocks[k]++;
            heap_unlock_node(h, &l, n);

            used = (size_t)nc_format(line, sizeof(line),
                                     "heap[node=%u][zone=%u] -> %llu pages; "
                                     "free blocks by order:", n, z,
                                     (unsigned long long)zone_avail[z]);
            for ( unsigned int k = 0; k <= NC_MAX_ORDER && used < sizeof(line);
                  k++ )
                if ( blocks[k] )
                    used += (size_t)nc_format(line + used, sizeof(line) - used,
                                              " %u:%llu", k,
                                              (unsigned long long)blocks[k]);
            dump_line(o, line);
        }
    }
    nc_format(line, sizeof(line), "host: %llu of %llu pages free, %llu "
              "offlined", (unsigned long long)host_avail,
              (unsigned long long)h->total_pages,
              (unsigned long long)host_off);
    dump_line(o, line);
}

static void key_heap(struct nc_host *h)
{
    struct dump_out o = { h, true, NULL, 0, 0 };

    printk(h, "'H' pressed: the heap, free pages per node and zone");
    dump_heap(&o);
}

size_t nc_host_dump(struct nc_host *h, char *buf, size_t size)
{
    struct dump_out o = { h, false, buf, size, 0 };

    if ( size )
        buf[0] = '\0';
    dump_heap(&o);
    return o.used;
}

/* ========================================================================
 * 'm': claims
 * ======================================================================== */

static void dump_claims(struct nc_host *h)
{
    uint64_t node_claimed[NC_MAX_NUMNODES], outstanding, avail;

    printk(h, "'m' pressed: claims per domain and node");
    for ( unsigned int id = nc_domain_next(h, 0); id < NC_DOMID_FIRST_RESERVED;
          id = nc_domain_next(h, id + 1) )
    {
        uint64_t nodes[NC_MAX_NUMNODES];
        struct nc_domain *d = domain_get(h, (nc_domid_t)id);
        uint64_t outst, host, recalled, mask;
        char line[1400];
        size_t used;

        if ( !d )
            continue;                   /* destroyed meanwhile */
        nc_lock(&d->lock);              /* claims are read under it */
        outst = d->outstanding;
        host = d->host_claim;
        recalled = d->recalled;
        mask = d->node_claim_mask;
        for ( unsigned int n = 0; n < NC_MAX_NUMNODES; n++ )
            nodes[n] = d->node_claim[n];
        domain_unlock_put(h, d);

        if ( !outst && !recalled )
            continue;
        used = (size_t)nc_format(line, sizeof(line),
                                 "d%u: outstanding %llu pages: host %llu",
                                 id, (unsigned long long)outst,
                                 (unsigned long long)host);
        for ( unsigned int n = 0; n < NC_MAX_NUMNODES && used < sizeof(line);
              n++ )
            if ( (mask & (1ULL << n)) && nodes[n] )
                used += (size_t)nc_format(line + used, sizeof(line) - used,
                                          ", node%u %llu", n,
                                          (unsigned long long)nodes[n]);
        if ( recalled && used < sizeof(line) )
            nc_format(line + used, sizeof(line) - used,
                      " (%llu recalled by offlining)",
                      (unsigned long long)recalled);
        nc_console_write(h, line);
    }

    heap_lock_all(h);
    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        node_claimed[n] = h->node[n].claimed;
    outstanding = host_outstanding_locked(h);
    avail = host_total_avail_locked(h);
    heap_unlock_all(h);
    for ( unsigned int n = 0; n < h->nr_nodes; n++ )
        if ( node_claimed[n] )
            printk(h, "node %u: %llu pages claimed", n,
                   (unsigned long long)node_claimed[n]);
    printk(h, "host: %llu pages outstanding, %llu free",
           (unsigned long long)outstanding, (unsigned long long)avail);
}

/* ========================================================================
 * 'q': domains
 * ======================================================================== */

static void dump_domains(struct nc_host *h)
{
    printk(h, "'q' pressed: domains");
    for ( unsigned int id = nc_domain_next(h, 0); id < NC_DOMID_FIRST_RESERVED;
          id = nc_domain_next(h, id + 1) )
    {
        struct nc_domain_info i;
        const char *state;

        if ( nc_domain_getinfo(h, (nc_domid_t)id, &i) )
            continue;
        if ( i.dying )
            state = "dying";
        else if ( id == NC_DOMID_CONTROL )
            state = "running";
        else
            state = i.pause_count ? "paused" : "unpaused";
        printk(h, "d%u: %s, %u vCPU%s, tot_pages %llu, max_pages %llu, "
               "outstanding %llu, node affinity 0x%llx", id, state,
               i.max_vcpus, i.max_vcpus == 1 ? "" : "s",
               (unsigned long long)i.tot_pages,
               (unsigned long long)i.max_pages,
               (unsigned long long)i.outstanding,
               (unsigned long long)i.node_affinity);
    }
}

/* ========================================================================
 * The key table
 * ======================================================================== */

static void show_keys(struct nc_host *h);
static void dump_all(struct nc_host *h);

static const struct {
    char key;
    void (*fn)(struct nc_host *h);
    const char *what;
} keys[] = {
    { '*', dump_all, "every dump: 'H', 'm' and 'q'" },
    { 'H', key_heap, "the heap: free pages per node, zone and order" },
    { 'h', show_keys, "this list" },
    { 'm', dump_claims, "claims per domain and node" },
    { 'q', dump_domains, "domains: pages, claims, vCPUs, state" },
};

static void show_keys(struct nc_host *h)
{
    printk(h, "'h' pressed: the debug keys");
    for ( size_t i = 0; i < NC_ARRAY_SIZE(keys); i++ )
        printk(h, " key '%c' (ascii '%02x') => %s", keys[i].key,
               (unsigned int)(unsigned char)keys[i].key, keys[i].what);
}

static void dump_all(struct nc_host *h)
{
    key_heap(h);
    dump_claims(h);
    dump_domains(h);
}

void nc_debug_key(struct nc_host *h, char key)
{
    for ( size_t i = 0; i < NC_ARRAY_SIZE(keys); i++ )
        if ( keys[i].key == key )
        {
            keys[i].fn(h);
            return;
        }
    /* As Xen's handle_keypress(): a key without a handler does nothing. */
}
