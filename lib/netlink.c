/* SPDX-License-Identifier: MIT */
#include "netlink.h"
