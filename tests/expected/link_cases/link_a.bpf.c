#define SEC(x) __attribute__((section(x), used))
struct foo;
extern int ext_fn(struct foo *f, int a);
extern int ext_var __attribute__((section(".data")));
extern unsigned int LINUX_KERNEL_VERSION __attribute__((section(".kconfig")));
extern int bpf_ksym_thing __attribute__((section(".ksyms"), weak));
int w __attribute__((weak)) = 1;
struct foo *gp;
static volatile int st_a = 5;
const volatile int ro_a = 3;
SEC("xdp") int prog_a(void *ctx) { return ext_fn(gp, w) + ext_var + LINUX_KERNEL_VERSION + st_a + ro_a; }
char LICENSE[] SEC("license") = "GPL";
