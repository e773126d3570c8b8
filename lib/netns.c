/* SPDX-License-Identifier: MIT */
#include "netns.h"
