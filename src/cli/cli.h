/* SPDX-License-Identifier: MIT */
/*
 * Subcommands of the numaclaim command and the helpers they share.
 */
#ifndef NC_CLI_H
#define NC_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <numaclaim/core.h>

#define CLI_DEFAULT_HOST "4x16G"

int cli_demo(int argc, char **argv);
int cli_host(int argc, char **argv);
int cli_storm(int argc, char **argv);
int cli_sweep(int argc, char **argv);
/* cli_storm's options and the scenario they describe, checked and
 * prepared, nothing run or written: 0 when the storm would run, else the
 * exit status (0 after --help, 2 after a bad option, its message printed).
 * For the fuzz harness. */
int cli_storm_parse(int argc, char **argv);
int cli_hostd(int argc, char **argv);
int cli_env(int argc, char **argv);
int cli_guest(int argc, char **argv);
int cli_xenstored(int argc, char **argv);

/* The run directory `numaclaim xenstored` gives the xenstored of the hostd
 * at hostd_socket ("PATH.xenstore"; its socket is DIR/socket); NULL when
 * it does not fit buf. */
const char *cli_xenstore_rundir(const char *hostd_socket, char *buf,
                                size_t len);

/* Parse a host spec and create the host; prints the parser's message and
 * returns NULL on error. */
struct nc_host *cli_host_create(const char *spec);

/* The directory numaclaim's stand-in libraries were loaded from (the
 * build tree's src/shim, or libdir/numaclaim once installed): what `env`
 * and `xenstored` put on LD_LIBRARY_PATH.  Never NULL. */
const char *cli_shim_dir(void);

/* Pages as a human size ("12 GiB", "512 MiB", "4 KiB"); buf >= 32. */
const char *cli_size(uint64_t pages, char *buf);

/* The per-node overview table: size, free, claimed, unclaimed free. */
void cli_print_overview(FILE *f, struct nc_host *h);

#endif /* NC_CLI_H */
