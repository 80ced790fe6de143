/* SPDX-License-Identifier: MIT */
/*
 * The heap as an operator sees it: `xl debug-keys H` then `xl dmesg`.
 * The storm's samples take from that dump the free memory in blocks of
 * 2 MiB or more (what a 2 MiB or 1 GiB extent can still get: the
 * fragmentation builders meet) and the frames offlined, neither of which
 * the claim overview reports.  Xen's own 'H' dump prints free pages per
 * node and zone; numaclaim's adds the free blocks by order and the host's
 * offlined frames (src/core/dump.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storm.h"

/* The console ring (NC_CONSOLE_SIZE); the dump must fit in it whole. */
#define RING_BYTES  16384
#define ORDER_2M    9

int storm_heap_read(xc_interface *xch, uint64_t *free_2m, uint64_t *offlined)
{
    static __thread char buf[RING_BYTES + 1];
    unsigned int n = RING_BYTES;
    uint32_t index = 0;
    uint64_t big = 0, off = 0;
    bool host_line = false;
    char *p, *line;

    /* Empty the ring first, so that what it holds next is the dump. */
    if ( xc_readconsolering(xch, buf, &n, 1, 0, &index) ||
         xc_send_debug_keys(xch, "H") )
        return -1;
    n = RING_BYTES;
    index = 0;
    if ( xc_readconsolering(xch, buf, &n, 0, 0, &index) )
        return -1;
    buf[n < RING_BYTES ? n : RING_BYTES] = '\0';
    /* A dump larger than the ring lost its first lines. */
    p = strstr(buf, "'H' pressed");
    if ( !p )
        return -1;
    for ( line = p; line; )
    {
        char *eol = strchr(line, '\n'), *h;
        unsigned long long a, b, c;

        if ( eol )
            *eol = '\0';        /* one line at a time */
        if ( strstr(line, "heap[node=") && (h = strstr(line, "by order:")) )
        {
            char *q = h + strlen("by order:");

            /* " order:count" pairs to the end of the line. */
            while ( *q == ' ' )
            {
                unsigned long k = strtoul(q + 1, &q, 10), cnt;

                if ( *q != ':' )
                    break;
                cnt = strtoul(q + 1, &q, 10);
                if ( k >= ORDER_2M && k < 64 )
                    big += (uint64_t)cnt << k;
            }
        }
        else if ( (h = strstr(line, "host: ")) &&
                  sscanf(h, "host: %llu of %llu pages free, %llu offlined",
                         &a, &b, &c) == 3 )
        {
            off = c;
            host_line = true;
        }
        line = eol ? eol + 1 : NULL;
    }
    if ( !host_line )
        return -1;
    *free_2m = big;
    *offlined = off;
    return 0;
}
