#include "common.h"
struct ext_map_t {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
};
struct ext_map_t shared_map SEC(".maps");
SEC("xdp")
int mm_prog(struct xdp_md *ctx) { __u32 k = 0; return bpf_map_lookup_elem(&shared_map, &k) != 0; }
char LICENSE[] SEC("license") = "GPL";
