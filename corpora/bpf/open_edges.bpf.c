/* Corner cases of libbpf's object open: the string "dummy_ksym" already exists
 * (the appended dummy_ksym VAR reuses it, the string blob does not grow), and
 * zero-sized globals share offsets (the sort by offset keeps their order). */
#include "common.h"

extern int bpf_kf(int) __ksym;
static volatile int dummy_ksym = 1;
struct empty {};
struct empty e2, e1, e3;
int zz;
struct empty d2 SEC(".data.x"), d1 SEC(".data.x");
int after SEC(".data.x") = 7;

SEC("xdp")
int open_edges(void *ctx)
{
	return bpf_kf(dummy_ksym) + zz + after + (long)&e1 + (long)&e2 + (long)&d1 + (long)&d2 + (long)&e3;
}

char LICENSE[] SEC("license") = "GPL";
