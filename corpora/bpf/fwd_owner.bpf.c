/* Defines `struct shared_state` and `union shared_blob`, which fwd_user.bpf.c
 * only forward-declares, and repeats `struct holder` identically so that
 * deduplication of the pair collapses it to one copy. */
#include "common.h"

struct shared_state {
	__u64 seq;
	__u32 flags;
	struct shared_state *prev;
	int slots[8];
};

union shared_blob {
	__u64 word;
	char text[16];
};

struct holder {
	struct shared_state *state;
	union shared_blob *blob;
	struct holder *self;
	__u32 refs;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shared_state);
} states SEC(".maps");

struct holder owner_holder;
union shared_blob owner_blob = { .word = 42 };

SEC("tc")
int fwd_owner_prog(void *ctx)
{
	__u32 key = 0;
	struct shared_state *s = bpf_map_lookup_elem(&states, &key);

	if (!s)
		return 0;
	s->seq++;
	owner_holder.state = s;
	owner_holder.blob = &owner_blob;
	return s->flags + owner_blob.text[3];
}

char LICENSE[] SEC("license") = "GPL";
