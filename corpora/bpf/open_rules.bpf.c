/* Every rule of libbpf's object open on one object: globals in .data/.bss/.rodata
 * (offsets and sizes come from the ELF), a hidden global (becomes a static VAR),
 * a static variable, .kconfig externs (laid out in the extern sort order, not in
 * BTF order) and .ksyms externs: kfuncs (a dummy_ksym VAR is appended, unnamed
 * parameters take its name) and typed ksyms (their VAR type becomes int). */
#include "common.h"

#define __kconfig __attribute__((section(".kconfig")))
#define __weak __attribute__((weak))
#define __hidden __attribute__((visibility("hidden")))

enum libbpf_tristate { TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 };

extern int LINUX_KERNEL_VERSION __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern __u64 CONFIG_HZ __kconfig __weak;
extern char CONFIG_DEFAULT_HOSTNAME[8] __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern short CONFIG_NR_CPUS_SHORT __kconfig __weak;

extern const __u64 jiffies_64 __ksym;
extern const int bpf_prog_active __ksym __weak;
extern int bpf_kfunc_unnamed(int, void *) __ksym;
extern void bpf_kfunc_named(__u64 flags) __ksym __weak;

int g1 = 1;
int g2 = 2;
__hidden int hid = 3;
static volatile int s1 = 4;
__u64 big[20];
const volatile __u32 ro = 5;
__hidden __u32 hid_bss;

SEC("xdp")
int open_rules(struct xdp_md *ctx)
{
	__u64 v = LINUX_KERNEL_VERSION + CONFIG_BPF_SYSCALL + CONFIG_HZ + CONFIG_DEFAULT_HOSTNAME[0];
	v += CONFIG_BPF_JIT + CONFIG_NR_CPUS_SHORT + jiffies_64 + bpf_prog_active;
	v += bpf_kfunc_unnamed(1, ctx);
	bpf_kfunc_named(v);
	big[ctx->rx_queue_index & 15] = v + g1 + g2 + hid + s1 + ro + hid_bss++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
