#include "common.h"
int other_glob = 4;
SEC("tc")
int lic_prog(struct xdp_md *ctx) { return other_glob; }
char _license[] SEC("license") = "GPL";
