#include "sim/sim_cli.h"

int main(int argc, char** argv) { return mpe::sim::RunSimMain(argc, argv); }
