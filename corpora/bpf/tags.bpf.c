/* btf_decl_tag on structs, members, functions, parameters and variables;
 * btf_type_tag on pointers (as the kernel's __user/__rcu use it); an extern
 * kfunc (FUNC with extern linkage in a .ksyms DATASEC); an extern kernel
 * variable (__ksym VAR). */
#include "common.h"

#define __user __ttag("user")
#define __rcu __ttag("rcu")
#define __percpu __ttag("percpu")

struct tagged {
	int plain;
	int marked __tag("member_tag");
	char __user *ubuf;
	struct tagged __rcu *rcu_next;
	int __percpu __user *both;
} __tag("struct_tag") __tag("second_struct_tag");

typedef int __tag("typedef_tag") tagged_int;

struct tagged global_tagged __tag("var_tag");
tagged_int tagged_counter;

extern int bpf_fixture_kfunc(struct tagged *t, int flags) __ksym;
extern const void bpf_fixture_ksym __ksym;

static __noinline int __tag("func_tag") helper(struct tagged *t __tag("param_tag"), int n)
{
	return t->plain + n + (t->ubuf != 0);
}

SEC("tp_btf/sched_switch")
int tags_prog(void *ctx)
{
	int r = helper(&global_tagged, 3);

	tagged_counter += r;
	if ((unsigned long)&bpf_fixture_ksym == 1)
		r += bpf_fixture_kfunc(&global_tagged, 0);
	return r;
}

char LICENSE[] SEC("license") = "GPL";
