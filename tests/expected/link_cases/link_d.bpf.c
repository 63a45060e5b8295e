#define SEC(x) __attribute__((section(x), used))
int w __attribute__((weak)) = 3;
struct foo;
extern int ext_fn(struct foo *f, int a);
static int helper_d(int x) { return x * 2; }
SEC("tc/ingress") int prog_d(void *ctx) { return helper_d(w) + ext_fn(0, 1); }
char LICENSE[] SEC("license") = "GPL";
