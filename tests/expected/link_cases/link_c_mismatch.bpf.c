#define SEC(x) __attribute__((section(x), used))
int w __attribute__((weak)) = 3;
extern int ext_fn(void *f, int a);
static int helper(int x) { return x * 2; }
SEC("tc") int prog_c(void *ctx) { return helper(w) + ext_fn(0, 1); }
char LICENSE[] SEC("license") = "GPL";
