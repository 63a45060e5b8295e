#include "common.h"
struct foo { int a; long b; };
int shared_counter = 5;
__noinline int helper_fn(int first, int second) { return first * second; }
int wval = 2;
struct foo owned_foo;
struct ext_map_t {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
};
struct ext_map_t shared_map SEC(".maps");
extern int LINUX_KERNEL_VERSION __attribute__((section(".kconfig")));
SEC("xdp")
int owner_prog(struct xdp_md *ctx)
{
	return helper_fn(ctx->data_end, 2) + owned_foo.a + LINUX_KERNEL_VERSION;
}
char LICENSE[] SEC("license") = "GPL";
