#include "common.h"
__attribute__((weak)) int wval = 9;
__attribute__((weak)) int wonly = 8;
__attribute__((weak)) __noinline int helper_fn(int x, int y) { return x + y; }
__u64 bigarr[7];
SEC("xdp")
int w2_prog(struct xdp_md *ctx) { return wval + wonly + helper_fn(1, 2) + bigarr[ctx->data & 3]; }
char LICENSE[] SEC("license") = "Dual BSD/GPL";
