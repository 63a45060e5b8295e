/* Every "plain C" BTF kind: bitfields, unions, signed/unsigned/64-bit enums,
 * typedefs, arrays, float, function prototypes, const/volatile/restrict,
 * globals in .data/.bss/.rodata, a BTF-defined map, and CO-RE relocations. */
#include "common.h"

enum colour { RED, GREEN = 5, BLUE = 0x7fffffff };
enum delta { NEG = -3, ZERO = 0, POS = 3 };
enum wide { WIDE_SMALL = 1, WIDE_BIG = 0x123456789abcULL, WIDE_TOP = 0xffffffff00000000ULL };

typedef __u64 cookie_t;
typedef struct packed_hdr hdr_t;
typedef int (*visit_fn)(const void *ctx, unsigned long arg, ...);

struct packed_hdr {
	unsigned int version : 4;
	unsigned int ihl : 4;
	unsigned int tos : 8;
	signed int credit : 7;
	_Bool urgent : 1;
	unsigned long long stamp : 40;
	enum colour colour : 3;
	__u16 id;
} __attribute__((packed));

union value {
	__u64 raw;
	double real;
	float halves[2];
	struct {
		__u32 lo;
		__u32 hi;
	} parts;
	unsigned char bytes[8];
};

struct record {
	hdr_t hdr;
	union value val;
	cookie_t cookie;
	enum delta delta;
	enum wide wide;
	const volatile int cv_counter;
	char *restrict name;
	char matrix[3][4][5];
	visit_fn visit;
	void (*notify)(struct record *self, int why);
	struct record *next;
	float ratio;
	long double precise;
};

/* CO-RE: kernel-layout struct read with preserve_access_index. */
struct task_like {
	int pid;
	int tgid;
	struct task_like *parent;
	char comm[16];
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, struct record);
} records SEC(".maps");

int counter = 7;                     /* .data */
__u64 total;                         /* .bss */
struct record last_record;           /* .bss */
const volatile __u32 limit = 64;     /* .rodata */
const char banner[] = "types fixture"; /* .rodata */
float scale = 1.5f;                  /* .data */
enum wide wide_seen = WIDE_BIG;      /* .data */

static __noinline int classify(struct record *r, enum colour c)
{
	if (r->hdr.urgent)
		return c == RED ? 1 : 2;
	return r->delta + (int)r->wide;
}

SEC("xdp")
int types_prog(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	struct record *r = bpf_map_lookup_elem(&records, &key);

	if (!r)
		return XDP_PASS;
	total += r->cookie + *(__u32 *)&scale;
	last_record.val.raw = r->val.parts.hi;
	if (key > limit)
		return XDP_DROP;
	counter += classify(r, BLUE) + banner[0];
	return XDP_PASS;
}

SEC("kprobe/do_exit")
int core_prog(struct task_like *task)
{
	int ppid = 0;
	struct task_like *parent = 0;

	bpf_probe_read_kernel(&parent, sizeof(parent), &task->parent);
	if (parent)
		bpf_probe_read_kernel(&ppid, sizeof(ppid), &parent->tgid);
	total += ppid + __builtin_preserve_field_info(task->comm, 0 /* BYTE_OFFSET */)
		+ __builtin_preserve_field_info(task->pid, 2 /* FIELD_EXISTS */);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
