#include "common.h"
struct inner_t { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); };
struct inner_t inner1 SEC(".maps");
struct outer_t {
	__uint(type, 12);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_t);
};
struct outer_t outer SEC(".maps") = { .values = { [0] = &inner1 } };
int xdp_target(struct xdp_md *ctx);
struct pa_t { __uint(type, 3); __uint(max_entries, 2); __type(key, __u32); __array(values, int (void *)); };
struct pa_t jmp SEC(".maps");
struct pair { int a; int b; };
struct pair pairs[4];
SEC("xdp")
int mim_prog(struct xdp_md *ctx) { __u32 k = 0; return bpf_map_lookup_elem(&outer, &k) != 0 && pairs[1].a; }
char LICENSE[] SEC("license") = "GPL";
