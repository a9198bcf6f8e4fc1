// init.cpp - the first user process: greets on the Console and exits (skeleton of the real init).
#include "libcap/print.h"
#include "libcap/runtime.h"

int main(cap::StartInfo& info) {
  cap::print("[init] hello from user space\n");
  if (info.args_len() != 0) cap::print("[init] args: %s\n", info.args());
  return 0;
}
