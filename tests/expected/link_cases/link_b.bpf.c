#define SEC(x) __attribute__((section(x), used))
struct foo { int x; long y; };
int w = 7;
int ext_var = 9;
long pad_b[3] = {1,2,3};
const volatile char ro_b = 1;
extern unsigned int LINUX_KERNEL_VERSION __attribute__((section(".kconfig")));
__attribute__((noinline)) int ext_fn(struct foo *f, int a) { return f ? f->x + a : a; }
struct foo gfoo;
SEC("xdp") int prog_b(void *ctx) { return ext_fn(&gfoo, w) + pad_b[1] + ro_b + LINUX_KERNEL_VERSION; }
char LICENSE[] SEC("license") = "GPL";
