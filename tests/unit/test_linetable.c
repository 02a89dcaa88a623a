#include "harness.h"
void test_linetable(void) {}
