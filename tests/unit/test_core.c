#include "harness.h"
void test_core(void) {}
