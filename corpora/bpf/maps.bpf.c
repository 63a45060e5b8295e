/* Several programs in several ELF sections (several func_info/line_info
 * blocks), subprograms, a ringbuf, a map-in-map and per-section globals. */
#include "common.h"

struct event {
	__u64 ts;
	__u32 pid;
	__u32 kind;
	char comm[16];
};

struct counter_key {
	__u32 cpu;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct counter_key);
	__type(value, __u64);
} counters SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inner SEC(".maps");

struct {
	__uint(type, 12 /* BPF_MAP_TYPE_ARRAY_OF_MAPS */);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer SEC(".maps");

__u64 seen SEC(".data.seen") = 1;
__u32 dropped SEC(".bss.dropped");
const volatile __u64 min_ns SEC(".rodata.cfg") = 1000;

static __noinline int emit(__u32 kind, __u32 pid)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		dropped++;
		return -1;
	}
	e->ts = bpf_ktime_get_ns();
	e->pid = pid;
	e->kind = kind;
	e->comm[0] = 'x';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __noinline int bump(struct counter_key *k)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&counters, k);

	if (v) {
		(*v)++;
		return 0;
	}
	return bpf_map_update_elem(&counters, k, &one, 0);
}

SEC("kprobe/tcp_sendmsg")
int on_send(void *ctx)
{
	struct counter_key k = { .cpu = 1, .port = 80, .proto = 6 };

	seen++;
	bump(&k);
	return emit(1, 100);
}

SEC("kprobe/tcp_recvmsg")
int on_recv(void *ctx)
{
	struct counter_key k = { .cpu = 2, .port = 443, .proto = 17 };

	if (bpf_ktime_get_ns() < min_ns)
		return 0;
	bump(&k);
	return emit(2, 200);
}

SEC("xdp")
int on_packet(struct xdp_md *ctx)
{
	__u32 key = 0;
	void *m = bpf_map_lookup_elem(&outer, &key);

	if (m && bpf_map_lookup_elem(m, &key))
		return XDP_PASS;
	return emit(3, ctx->rx_queue_index) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
