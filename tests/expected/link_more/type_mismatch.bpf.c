#include "common.h"
long shared_counter = 5;
__noinline int helper_fn(int first) { return first; }
SEC("xdp")
int tm_prog(struct xdp_md *ctx) { return helper_fn(1) + shared_counter; }
char LICENSE[] SEC("license") = "GPL";
