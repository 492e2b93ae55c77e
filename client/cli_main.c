/* cli_main.c: the cairn program; everything it does is cli.c's. */
#include "cli.h"

int main(int argc, char **argv) { return cairn__cli_main(argc, argv); }
