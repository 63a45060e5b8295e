#include "common.h"
struct inner_t { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u32); };
struct outer_t {
	__uint(type, 12);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_t);
};
extern struct outer_t outer SEC(".maps");
struct pair { int a; int c; };
extern struct pair pairs[4];
SEC("xdp")
int mim_bad(struct xdp_md *ctx) { __u32 k = 0; return bpf_map_lookup_elem(&outer, &k) != 0 && pairs[2].c; }
char LICENSE[] SEC("license") = "GPL";
