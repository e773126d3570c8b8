/* SPDX-License-Identifier: MIT */
#include <stdio.h>

int main(int argc, char **argv)
{
	fprintf(stderr, "culvertctl: not yet\n");
	return 2;
}
