/* A shared library with no debug information and no .symtab (stripped after the build): only
 * its dynamic symbols name its code, as in most libraries a program loads. The symbolizer test
 * looks up addresses inside each function and compares with the dynamic linker's dladdr. */
#define FN(n, k)                                        \
  __attribute__((noinline)) int stripped_fn##n(int x) { \
    int s = x;                                          \
    for (int i = 0; i < k; ++i) s = s * 31 + i;         \
    return s ^ n;                                       \
  }
FN(0, 1) FN(1, 2) FN(2, 3) FN(3, 5) FN(4, 8) FN(5, 13) FN(6, 21) FN(7, 34)
FN(8, 1) FN(9, 2) FN(10, 3) FN(11, 5) FN(12, 8) FN(13, 13) FN(14, 21) FN(15, 34)

/* An implementation with an internal-looking name and its public weak alias at one address, as
 * C libraries export them (glibc's __opendir and opendir): reports should say the public one. */
int __stripped_impl(int x) { return x * 3 + 1; }
extern __typeof(__stripped_impl) stripped_public __attribute__((weak, alias("__stripped_impl")));

/* A function that is not exported: in the stripped library no symbol covers it. The library has
 * a version script, whose version node (STRIPPED_1.0) is an absolute symbol at 0: it must not
 * name the function either. */
__attribute__((noinline)) static int hidden_helper(int x) {
  int s = x;
  for (int i = 0; i < 7; ++i) s = s * 17 + i;
  return s;
}
unsigned long stripped_hidden_address(void) { return (unsigned long)&hidden_helper; }
int stripped_use_hidden(int x) { return hidden_helper(x) + 1; }
