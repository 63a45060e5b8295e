#include "common.h"
struct foo;
extern int shared_counter;                       /* .extern, resolved by ext_owner */
extern int helper_fn(int a, int b);              /* extern func, defined in ext_owner */
extern int unresolved_var;                       /* stays unresolved */
extern int unresolved_fn(int);                   /* stays unresolved */
__attribute__((weak)) int wval = 1;              /* weak, overridden by ext_owner */
__attribute__((weak)) int wonly = 7;             /* weak only here */
struct foo *gp;
extern int LINUX_KERNEL_VERSION __attribute__((section(".kconfig")));
extern const int bpf_prog_active __ksym;
extern int bpf_kfunc_x(int a, void *b) __ksym;
struct ext_map_t {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
};
extern struct ext_map_t shared_map SEC(".maps");
__attribute__((visibility("hidden"))) int hid_def = 3;

SEC("xdp")
int user_prog(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&shared_map, &k);
	if (v) *v += 1;
	return helper_fn(ctx->data, shared_counter) + wval + wonly + (gp != 0) + LINUX_KERNEL_VERSION
	       + bpf_prog_active + hid_def + unresolved_var + unresolved_fn(1) + bpf_kfunc_x(1, ctx);
}
char LICENSE[] SEC("license") = "GPL";
