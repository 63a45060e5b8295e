#include "common.h"
extern int bpf_kfunc_x(int a, void *b) __ksym;
extern const int bpf_prog_active __ksym;
SEC("xdp")
int kdup_prog(struct xdp_md *ctx) { return bpf_kfunc_x(2, ctx) + bpf_prog_active; }
char LICENSE[] SEC("license") = "GPL";
