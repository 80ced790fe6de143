/* SPDX-License-Identifier: MIT */
/*
 * Stand-in libxendevicemodel.so.1.  numaclaim models no device model, but
 * Debian's libxenctrl opens a handle in xc_interface_open() and is linked
 * with BIND_NOW, so every symbol it (or libxenguest) imports must exist
 * with its version (xendevicemodel.map).  open and close work; every other
 * call fails with ENOSYS, as an unimplemented hypercall would.
 */
#include <errno.h>
#include <stdlib.h>

#include <xendevicemodel.h>

struct xendevicemodel_handle {
    unsigned int flags;
};

#define UNMODELLED do { errno = ENOSYS; return -1; } while ( 0 )

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
                                           unsigned int open_flags)
{
    xendevicemodel_handle *h = calloc(1, sizeof(*h));

    if ( h )
        h->flags = open_flags;
    return h;
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
    free(dmod);
    return 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod,
    domid_t domid, int handle_bufioreq, ioservid_t *id) { UNMODELLED; }
int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod,
    domid_t domid, ioservid_t id, xen_pfn_t *ioreq_gfn,
    xen_pfn_t *bufioreq_gfn, evtchn_port_t *bufioreq_port) { UNMODELLED; }
int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod,
    domid_t domid, ioservid_t id, int is_mmio, uint64_t start,
    uint64_t end) { UNMODELLED; }
int xendevicemodel_unmap_io_range_from_ioreq_server(
    xendevicemodel_handle *dmod, domid_t domid, ioservid_t id, int is_mmio,
    uint64_t start, uint64_t end) { UNMODELLED; }
int xendevicemodel_map_mem_type_to_ioreq_server(xendevicemodel_handle *dmod,
    domid_t domid, ioservid_t id, uint16_t type, uint32_t flags)
    { UNMODELLED; }
int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dmod,
    domid_t domid, ioservid_t id, uint16_t segment, uint8_t bus,
    uint8_t device, uint8_t function) { UNMODELLED; }
int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *dmod,
    domid_t domid, ioservid_t id, uint16_t segment, uint8_t bus,
    uint8_t device, uint8_t function) { UNMODELLED; }
int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod,
    domid_t domid, ioservid_t id) { UNMODELLED; }
int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod,
    domid_t domid, ioservid_t id, int enabled) { UNMODELLED; }
int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *dmod,
    domid_t domid, uint16_t segment, uint8_t bus, uint8_t device,
    uint8_t intx, unsigned int level) { UNMODELLED; }
int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *dmod,
    domid_t domid, uint8_t irq, unsigned int level) { UNMODELLED; }
int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid,
    unsigned int irq, unsigned int level) { UNMODELLED; }
int xendevicemodel_set_pci_link_route(xendevicemodel_handle *dmod,
    domid_t domid, uint8_t link, uint8_t irq) { UNMODELLED; }
int xendevicemodel_inject_msi(xendevicemodel_handle *dmod, domid_t domid,
    uint64_t msi_addr, uint32_t msi_data) { UNMODELLED; }
int xendevicemodel_track_dirty_vram(xendevicemodel_handle *dmod,
    domid_t domid, uint64_t first_pfn, uint32_t nr,
    unsigned long *dirty_bitmap) { UNMODELLED; }
int xendevicemodel_modified_memory(xendevicemodel_handle *dmod,
    domid_t domid, uint64_t first_pfn, uint32_t nr) { UNMODELLED; }
int xendevicemodel_modified_memory_bulk(xendevicemodel_handle *dmod,
    domid_t domid, struct xen_dm_op_modified_memory_extent extents[],
    uint32_t nr) { UNMODELLED; }
int xendevicemodel_set_mem_type(xendevicemodel_handle *dmod, domid_t domid,
    hvmmem_type_t mem_type, uint64_t first_pfn, uint32_t nr) { UNMODELLED; }
int xendevicemodel_inject_event(xendevicemodel_handle *dmod, domid_t domid,
    int vcpu, uint8_t vector, uint8_t type, uint32_t error_code,
    uint8_t insn_len, uint64_t extra) { UNMODELLED; }
int xendevicemodel_shutdown(xendevicemodel_handle *dmod, domid_t domid,
    unsigned int reason) { UNMODELLED; }
int xendevicemodel_relocate_memory(xendevicemodel_handle *dmod,
    domid_t domid, uint32_t size, uint64_t src_gfn, uint64_t dst_gfn)
    { UNMODELLED; }
int xendevicemodel_pin_memory_cacheattr(xendevicemodel_handle *dmod,
    domid_t domid, uint64_t start, uint64_t end, uint32_t type)
    { UNMODELLED; }
int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid,
    unsigned int *vcpus) { UNMODELLED; }
int xendevicemodel_restrict(xendevicemodel_handle *dmod, domid_t domid)
    { UNMODELLED; }
