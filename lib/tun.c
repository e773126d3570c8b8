/* SPDX-License-Identifier: MIT */
#include "tun.h"
