/* SPDX-License-Identifier: MIT */
#include "frame.h"
