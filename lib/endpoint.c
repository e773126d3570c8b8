/* SPDX-License-Identifier: MIT */
#include "endpoint.h"
