/* Host (x86-64) object whose BTF pahole encodes from DWARF: clang 14's BPF
 * backend cannot emit ENUM64, pahole 1.24 can.  Also gives signed enums
 * (kind_flag 1), a 1-byte and a 2-byte enum, and an enum forward declaration. */
enum wide64 { W_SMALL = 1, W_BIG = 0x123456789abcULL, W_TOP = 0xffffffff00000000ULL };
enum swide64 { S_NEG = -0x100000000LL, S_POS = 0x100000000LL };
enum __attribute__((packed)) tiny { T_A = 1, T_B = 200 };
enum __attribute__((packed)) small { SM_A = -1, SM_B = 1000 };
enum sign32 { N_MINUS = -7, N_PLUS = 7 };
enum opaque;

struct enum_holder {
	enum wide64 w;
	enum swide64 s;
	enum tiny t;
	enum small sm;
	enum sign32 n;
	enum opaque *op;
	unsigned int bits : 3;
	enum tiny tbits : 2;
	float f;
	double d;
	_Bool b;
};

struct enum_holder holder;

int use_holder(struct enum_holder *h, enum wide64 w)
{
	return h->n + (int)w + h->bits;
}
