#include "harness.h"
void test_strbuf(void) {}
