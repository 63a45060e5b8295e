/* Uses `struct shared_state` only through a pointer: its BTF has a FWD for it.
 * fwd_owner.bpf.c defines the struct, so merging both objects and deduplicating
 * resolves the FWD to the STRUCT (libbpf's FWD resolution across objects).
 * `union shared_blob` is forward-declared the same way (FWD with kind_flag 1). */
#include "common.h"

struct shared_state;
union shared_blob;

struct holder {
	struct shared_state *state;
	union shared_blob *blob;
	struct holder *self;
	__u32 refs;
};

typedef struct holder holder_t;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, holder_t);
} holders SEC(".maps");

struct holder *last_holder;

static __noinline int touch(struct holder *h)
{
	last_holder = h;
	return h->refs;
}

SEC("xdp")
int fwd_user_prog(struct xdp_md *ctx)
{
	__u32 key = 0;
	holder_t *h = bpf_map_lookup_elem(&holders, &key);

	if (!h)
		return XDP_ABORTED;
	return touch(h) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
